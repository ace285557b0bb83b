"""compose.yaml can't be started here (no Docker engine), so its structure is checked:
services, health gates, and environment names that the settings really read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from assetlens.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def load() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return data


def test_services_and_health_gates() -> None:
    services = load()["services"]
    assert {"elasticsearch", "minio", "minio-setup", "api", "indexer"} <= set(services)
    for name in ("elasticsearch", "minio", "api"):
        assert "healthcheck" in services[name], name
    for name in ("api", "indexer"):
        gates = services[name]["depends_on"]
        assert gates["elasticsearch"]["condition"] == "service_healthy"
        assert gates["minio"]["condition"] == "service_healthy"
        assert gates["minio-setup"]["condition"] == "service_completed_successfully"
    assert services["indexer"]["command"] == ["assetlens", "indexer"]
    assert services["indexer"]["deploy"]["replicas"] >= 2


def test_elasticsearch_version_matches_the_test_node_and_client_major() -> None:
    image = load()["services"]["elasticsearch"]["image"]
    version = image.rsplit(":", 1)[1]
    launcher = (ROOT / "tools" / "es-node" / "pom.xml").read_text()
    assert f"<elasticsearch.version>{version}</elasticsearch.version>" in launcher
    from importlib.metadata import version as installed

    assert installed("elasticsearch").split(".")[0] == version.split(".")[0]


def test_environment_names_are_settings() -> None:
    services = load()["services"]
    fields = {name.upper() for name in Settings.model_fields}
    for name in ("api", "indexer"):
        env = services[name]["environment"]
        for key in env:
            if key.startswith("ASSETLENS_"):
                assert key.removeprefix("ASSETLENS_") in fields, key
        assert env["ASSETLENS_STORE_BACKEND"] == "s3"
        assert env["ASSETLENS_INDEX_BACKEND"] == "elasticsearch"
        assert env["ASSETLENS_RUN_INDEXER_IN_PROCESS"] == "false"
