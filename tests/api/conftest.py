"""A live server in embedded mode with two workspaces."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from api.app import create_app
from assetlens.bootstrap import Container, build
from tests.conftest import Api, make_settings
from tests.fakes import FakeEmbedder
from tests.support.server import running


def png(colour: tuple[int, int, int], size: tuple[int, int] = (64, 64), *,
        pattern: int = 0) -> bytes:
    """A small PNG; `pattern` varies the bytes (and a little of the look) of one colour."""
    image = Image.new("RGB", size, colour)
    for i in range(pattern):
        image.putpixel((i % size[0], (i * 7) % size[1]), (colour[0] // 2, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Container]]:
    data = Path(tmp_path_factory.mktemp("api")) / "data"
    container = build(make_settings(data, max_video_bytes=3_000_000), embedder=FakeEmbedder())
    app = create_app(container, run_indexer=True)
    with running(app) as base_url:
        yield base_url, container
    container.close()


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
