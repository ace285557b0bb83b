"""What the services report through the Metrics port, read back from the wired
Prometheus registry."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from PIL import Image

from assetlens import media
from assetlens.bootstrap import Container, build
from assetlens.errors import IndexUnavailable
from assetlens.query import IndexDoc
from assetlens.services.asset_inputs import UploadForm
from assetlens.services.indexing import Indexer
from assetlens.services.search import SearchRequest
from assetlens.spool import Spooled, spool_file
from indexer.embedded import EmbeddedSearchIndex
from tests.conftest import make_settings
from tests.fakes import FakeEmbedder


class SwitchableIndex(EmbeddedSearchIndex):
    """The embedded index, refusing writes while `down`."""

    down = False

    def upsert(self, docs: Sequence[IndexDoc]) -> None:
        if self.down:
            raise IndexUnavailable("index is down (test)")
        super().upsert(docs)


@pytest.fixture
def wired(tmp_path: Path) -> Iterator[tuple[Container, SwitchableIndex]]:
    settings = make_settings(tmp_path / "data")
    index = SwitchableIndex(tmp_path / "index")
    container = build(settings, index=index, embedder=FakeEmbedder())
    container.index.ensure()
    yield container, index
    container.close()


def sample(container: Container, name: str, **labels: str) -> float:
    return container.metrics.registry.get_sample_value(name, labels) or 0.0


def png_spool(tmp: Path, name: str, colour: tuple[int, int, int] = (200, 10, 10)) -> Spooled:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), colour).save(buffer, format="PNG")
    buffer.seek(0)
    return spool_file(buffer, tmp, f"{name}.png", 10_000_000)


def upload(container: Container, tmp: Path, prompt: str) -> int:
    spooled = png_spool(tmp, prompt)
    try:
        container.assets.upload("ws", spooled, UploadForm(prompt=prompt))
        return spooled.size
    finally:
        spooled.discard()


def test_a_new_version_counts_its_bytes_too(
    wired: tuple[Container, SwitchableIndex], tmp_path: Path
) -> None:
    container, _ = wired
    spooled = png_spool(tmp_path, "v1")
    try:
        asset = container.assets.upload("ws", spooled, UploadForm())
    finally:
        spooled.discard()
    version = png_spool(tmp_path, "v2", (10, 200, 10))
    try:
        container.versions.upload("ws", asset.id, version)
    finally:
        version.discard()
    assert sample(container, "assetlens_upload_bytes_total") == asset.size_bytes + version.size


def test_an_upload_indexed_and_searched_is_counted(
    wired: tuple[Container, SwitchableIndex], tmp_path: Path
) -> None:
    container, _ = wired
    size = upload(container, tmp_path, "lantern")
    assert sample(container, "assetlens_upload_bytes_total") == size
    assert container.indexer.drain() == 1
    assert sample(container, "assetlens_indexed_total", result="ok") == 1
    assert sample(container, "assetlens_embedder_batch_seconds_count", kind="image") >= 1
    assert sample(container, "assetlens_embedded_items_total", kind="image") >= 1
    container.search.search("ws", SearchRequest(q="lantern", mode="keyword"))
    container.search.search("ws", SearchRequest(q="lantern", mode="hybrid"))
    container.search.search("ws", SearchRequest(q="lantern"))  # auto: hybrid with a model
    for mode, count in (("keyword", 1), ("hybrid", 2)):
        assert (
            sample(container, "assetlens_search_seconds_count", mode=mode, backend="embedded")
            == count
        )
    assert sample(container, "assetlens_search_seconds_count", mode="auto", backend="embedded") == 0


def test_an_index_outage_counts_the_batch_as_retried(
    wired: tuple[Container, SwitchableIndex], tmp_path: Path
) -> None:
    container, index = wired
    upload(container, tmp_path, "first")
    upload(container, tmp_path, "second")
    index.down = True
    with pytest.raises(IndexUnavailable):
        container.indexer.process(container.queue.claim(10))
    assert sample(container, "assetlens_indexed_total", result="retry") == 2
    assert sample(container, "assetlens_indexed_total", result="ok") == 0


def test_an_item_given_up_on_counts_as_failed(tmp_path: Path) -> None:
    def broken(*_: object) -> media.Analysis:
        raise RuntimeError("decoder crashed")

    settings = make_settings(tmp_path / "data", indexer_max_attempts=2)
    container = build(settings, embedder=FakeEmbedder())
    indexer = Indexer(
        settings,
        container.store,
        container.index,
        container.queue,
        None,
        analyse=broken,
        metrics=container.metrics,
    )
    container.index.ensure()
    try:
        upload(container, tmp_path, "poison")
        indexer.process(container.queue.claim(10))  # attempt 1: analysis raises
        assert sample(container, "assetlens_indexed_total", result="retry") == 1
        for key in list(container.store.list_keys("queue/")):  # skip the back-off wait
            state = json.loads(container.store.get_bytes(key).data)
            state["not_before"] = 0
            container.store.put_bytes(key, json.dumps(state).encode())
        indexer.process(container.queue.claim(10))  # attempt 2 = max: marked failed
        assert sample(container, "assetlens_indexed_total", result="failed") == 1
    finally:
        container.close()
