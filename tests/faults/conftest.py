"""Fixtures for the fault scenarios: production settings whose Elasticsearch and MinIO are
reached through fault proxies in front of the shared servers (which keep running), and a
fresh bucket and index per test, removed afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from assetlens.bootstrap import Container, build
from assetlens.config import Settings
from indexer.elasticsearch import ElasticsearchIndex
from tests.conftest import make_settings
from tests.integration.conftest import RunningService, admin_client, remove_bucket
from tests.support.faultproxy import ThreadedFaultProxy, fault_proxy


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


@dataclass
class Production:
    """Settings for the processes (through the proxies) and a direct container on the
    same bucket and index for checking what really is in the store and the index."""

    settings: Settings
    direct: Container
    es: ThreadedFaultProxy
    s3: ThreadedFaultProxy
    unproxied: Settings  # the processes' settings straight to the servers (load runs)


@pytest.fixture
def production(
    minio_service: RunningService, es_service: RunningService, tmp_path: Path
) -> Iterator[Production]:
    minio = minio_service.env
    es_url = es_service.env["ASSETLENS_ES_URL"]
    suffix = uuid.uuid4().hex[:12]
    with (
        fault_proxy(_address(es_url)) as es,
        fault_proxy(_address(minio["ASSETLENS_S3_ENDPOINT"])) as s3,
    ):
        base = make_settings(
            tmp_path / "direct",
            store_backend="s3",
            index_backend="elasticsearch",
            s3_endpoint=minio["ASSETLENS_S3_ENDPOINT"],
            s3_access_key=minio["ASSETLENS_S3_ACCESS_KEY"],
            s3_secret_key=minio["ASSETLENS_S3_SECRET_KEY"],
            s3_bucket=f"faults-{suffix}",
            es_url=es_url,
            es_index=f"faults-{suffix}",
            # Short enough that a killed worker's lease expires within the scenario.
            indexer_lease_seconds=5.0,
            indexer_poll_seconds=0.2,
            indexer_batch_size=8,
            wait_timeout_seconds=5.0,
        )
        direct = build(base, use_embedder=False)
        direct.index.ensure()
        proxied = base.model_copy(
            update={"data_dir": tmp_path / "proxied", "s3_endpoint": s3.url, "es_url": es.url}
        )
        try:
            yield Production(
                proxied,
                direct,
                es,
                s3,
                base.model_copy(update={"data_dir": tmp_path / "unproxied"}),
            )
        finally:
            if isinstance(direct.index, ElasticsearchIndex):
                direct.index.drop()
            direct.close()
            remove_bucket(admin_client(minio), base.s3_bucket)
