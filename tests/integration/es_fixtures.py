"""Fixtures for a REAL Elasticsearch node (scripts/es-node.sh), built on the generic
`ensure_service` of conftest.py: the configured node (ASSETLENS_ES_URL or es.env), else one
started with the script; with CI=true a node that cannot be had fails the tests.

Import the fixtures into a test module to use them. Each index gets a unique name and is
deleted by exact name afterwards (the node refuses wildcard deletes).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from elasticsearch import ApiError, Elasticsearch, TransportError

from indexer.elasticsearch import ElasticsearchIndex
from indexer.elasticsearch.failures import RetryPolicy
from tests.integration.conftest import (
    SCRIPTS,
    RunningService,
    ServiceSpec,
    ensure_service,
    run_script,
    services_dir,
)

ES_KEYS = ("ASSETLENS_ES_URL",)
ES_NODE = ["bash", str(SCRIPTS / "es-node.sh")]


def es_client(url: str, *, timeout: float = 30.0) -> Elasticsearch:
    """A client as the adapter is used in production: our retries, not the client's."""
    return Elasticsearch(url, request_timeout=timeout, max_retries=0, retry_on_timeout=False)


def probe_es(env: Mapping[str, str]) -> str | None:
    """None when the node answers a health request and is not red, else why not."""
    client = es_client(env["ASSETLENS_ES_URL"], timeout=5.0)
    try:
        status = client.cluster.health(timeout="3s").body.get("status")
    except (ApiError, TransportError) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        client.close()
    return None if status in ("green", "yellow") else f"cluster status {status}"


def es_spec(services: Path | None = None) -> ServiceSpec:
    """The node of scripts/es-node.sh in `services` (default: the shared services dir)."""
    base = services or services_dir()
    return ServiceSpec(
        name="Elasticsearch",
        keys=ES_KEYS,
        env_file=base / "es.env",
        probe=probe_es,
        start=[*ES_NODE, "start"],
        stop=[*ES_NODE, "stop"],
    )


@pytest.fixture(scope="session")
def es_service() -> Iterator[RunningService]:
    """The shared node; stopped at the end only if this session started it (set
    ASSETLENS_KEEP_SERVICES=1 to keep it running)."""
    spec = es_spec()
    service = ensure_service(spec)
    yield service
    if service.started_here and os.environ.get("ASSETLENS_KEEP_SERVICES") != "1":
        run_script(spec.stop, timeout=60)


@pytest.fixture(scope="session")
def es_url(es_service: RunningService) -> str:
    return es_service.env["ASSETLENS_ES_URL"]


IndexFactory = Callable[..., ElasticsearchIndex]


@pytest.fixture
def es_indices(es_url: str) -> Iterator[IndexFactory]:
    """Makes ensured ElasticsearchIndex objects on fresh, unique names (each with its own
    client); every physical index they made is deleted afterwards."""
    made: list[ElasticsearchIndex] = []

    def make(
        name: str | None = None,
        *,
        num_candidates: int = 200,
        shards: int = 1,
        ensure: bool = True,
        batch_size: int = 500,
        bulk_workers: int = 2,
    ) -> ElasticsearchIndex:
        index = ElasticsearchIndex(
            es_client(es_url),
            name or f"it-{uuid.uuid4().hex[:16]}",
            num_candidates=num_candidates,
            shards=shards,
            batch_size=batch_size,
            bulk_workers=bulk_workers,
            retry=RetryPolicy(attempts=3, initial_backoff_s=0.1),
        )
        made.append(index)
        if ensure:
            index.ensure()
        return index

    yield make
    for index in made:
        cleaner = ElasticsearchIndex(es_client(es_url), index.alias)
        try:
            cleaner.drop()
        finally:
            cleaner.close()
            index.close()
