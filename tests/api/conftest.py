"""A live server in embedded mode with two workspaces."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image

from api.app import create_app
from assetlens.bootstrap import Container, build
from assetlens.config import Settings
from assetlens.ports import Embedder
from tests.conftest import Api, make_settings
from tests.fakes import FakeEmbedder
from tests.support.server import running

#: The API tier proves uploads in worker processes, as a server does (the rest of the suite
#: proves them in-process: tests/conftest.py), so every refusal it tests crosses them.
PROOF_WORKERS = 2


def png(
    colour: tuple[int, int, int], size: tuple[int, int] = (64, 64), *, pattern: int = 0
) -> bytes:
    """A small PNG; `pattern` varies the bytes (and a little of the look) of one colour."""
    image = Image.new("RGB", size, colour)
    for i in range(pattern):
        image.putpixel((i % size[0], (i * 7) % size[1]), (colour[0] // 2, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def server_settings(request: pytest.FixtureRequest, data: Path) -> Settings:
    """Production mode on the real MinIO and Elasticsearch, fresh bucket and index."""
    minio = request.getfixturevalue("minio_service").env
    es = request.getfixturevalue("es_service").env
    suffix = uuid.uuid4().hex[:12]
    return make_settings(
        data,
        max_video_bytes=3_000_000,
        proof_workers=PROOF_WORKERS,
        store_backend="s3",
        index_backend="elasticsearch",
        s3_endpoint=minio["ASSETLENS_S3_ENDPOINT"],
        s3_access_key=minio["ASSETLENS_S3_ACCESS_KEY"],
        s3_secret_key=minio["ASSETLENS_S3_SECRET_KEY"],
        s3_bucket=f"api-{suffix}",
        es_url=es["ASSETLENS_ES_URL"],
        es_index=f"api-{suffix}",
    )


@pytest.fixture(scope="module", params=["embedded", "servers"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Container]]:
    """A live server per backend: embedded (local files + SQLite) and servers (MinIO +
    Elasticsearch). Every API test runs on both."""
    data = Path(tmp_path_factory.mktemp("api")) / "data"
    if request.param == "embedded":
        settings = make_settings(data, max_video_bytes=3_000_000, proof_workers=PROOF_WORKERS)
    else:
        settings = server_settings(request, data)
    container = build(settings, embedder=FakeEmbedder())
    app = create_app(container, run_indexer=True)
    with running(app) as base_url:
        yield base_url, container
    if request.param == "servers":
        # The worker writes schedule objects while it runs: stop it before emptying the bucket.
        container.stop_indexer_thread()
        drop_server_data(request, settings, container)
    container.close()


def drop_server_data(
    request: pytest.FixtureRequest, settings: Settings, container: Container
) -> None:
    from indexer.elasticsearch import ElasticsearchIndex
    from tests.integration.conftest import admin_client, remove_bucket

    # Nothing may write after the bucket is emptied: stop the worker (its periodic jobs
    # recreate their schedule objects) and flush the usage events buffered in the background.
    container.stop_indexer_thread()
    container.usage.close()
    if isinstance(container.index, ElasticsearchIndex):
        container.index.drop()
    remove_bucket(admin_client(request.getfixturevalue("minio_service").env), settings.s3_bucket)


@pytest.fixture(scope="module")
def api(live: tuple[str, Container]) -> Iterator[Api]:
    base_url, container = live
    client = Api(base_url, container.keys.create("alpha"))
    yield client
    client.http.close()


@pytest.fixture(scope="module")
def other(live: tuple[str, Container]) -> Iterator[Api]:
    base_url, container = live
    client = Api(base_url, container.keys.create("beta"))
    yield client
    client.http.close()


@contextmanager
def live_with(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    embedder: Embedder,
    **overrides: object,
) -> Iterator[tuple[str, Container]]:
    """A live server with settings `overrides`, on the backend `request.param` names
    ("embedded" or "servers"), torn down (and its bucket and index dropped) afterwards."""
    data = Path(tmp_path_factory.mktemp("live")) / "data"
    overrides = {"proof_workers": PROOF_WORKERS, **overrides}
    if request.param == "embedded":
        settings = make_settings(data, **overrides)
    else:
        settings = server_settings(request, data).model_copy(update=overrides)
    container = build(settings, embedder=embedder)
    with running(create_app(container, run_indexer=True)) as base_url:
        yield base_url, container
    if request.param == "servers":
        drop_server_data(request, settings, container)
    container.close()
