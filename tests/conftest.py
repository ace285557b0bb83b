"""Shared fixtures: settings on a temp dir, wired containers, a live API server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assetlens.bootstrap import Container, build
from assetlens.config import Settings
from tests.fakes import FakeEmbedder

# The real-server fixtures, shared with the API tier so it runs on both backends.
from tests.integration.conftest import minio_service  # noqa: F401
from tests.integration.es_fixtures import es_service  # noqa: F401

# Analysis runs in the indexer's thread unless a test asks for worker processes: spawning a
# pool per container would cost every test that indexes a second or two of start-up.
os.environ.setdefault("ASSETLENS_INDEXER_WORKERS", "1")
# Likewise the upload proof runs in the test's process, unless a test asks for the worker
# processes (the API tier does: tests/api/conftest.py).
os.environ.setdefault("ASSETLENS_PROOF_WORKERS", "0")


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Embedded-mode settings on `data_dir`, visual search off, fast polling; no .env read."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "clip_enabled": False,
        "indexer_poll_seconds": 0.05,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    """Embedded mode (local store + SQLite index) with the colour fake embedder."""
    wired = build(settings, embedder=FakeEmbedder())
    wired.index.ensure()
    yield wired
    wired.close()


class Api:
    """An HTTP client bound to one workspace's key."""

    def __init__(self, base_url: str, key: str) -> None:
        self.base_url = base_url
        self.key = key
        self.http = httpx.Client(
            base_url=base_url, timeout=60, headers={"Authorization": f"Bearer {key}"}
        )

    def upload(
        self, filename: str, data: bytes, wait: bool = True, **fields: str
    ) -> httpx.Response:
        return self.http.post(
            "/v1/assets",
            params={"wait": str(wait).lower()},
            files={"file": (filename, data)},
            data=fields,
        )

    def search(self, **body: object) -> httpx.Response:
        return self.http.post("/v1/search", json=body)
