"""The indexing pipeline with fakes passed in: outages, kills, reconcile, reindex."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pytest
from PIL import Image

from assetlens import media
from assetlens.bootstrap import Container, build
from assetlens.errors import IndexUnavailable, StoreUnavailable
from assetlens.filters import Filters
from assetlens.query import Hit, IndexDoc, SearchPage, SearchQuery, VectorQuery
from assetlens.services.asset_inputs import UploadForm
from assetlens.services.indexing import Indexer
from assetlens.spool import Spooled, spool_file
from assetlens.stats import IndexStats
from indexer.embedded import EmbeddedSearchIndex
from tests.conftest import make_settings
from tests.fakes import FakeEmbedder, FakeObjectStore


class SwitchableIndex:
    """The real embedded index behind a switch that simulates an outage."""

    def __init__(self, inner: EmbeddedSearchIndex) -> None:
        self.inner = inner
        self.down = False

    def _guard(self) -> None:
        if self.down:
            raise IndexUnavailable("index is down (test)")

    def ensure(self) -> None:
        self._guard()
        self.inner.ensure()

    def upsert(self, docs: Sequence[IndexDoc]) -> None:
        self._guard()
        self.inner.upsert(docs)

    def remove(self, workspace: str, asset_ids: Sequence[str]) -> None:
        self._guard()
        self.inner.remove(workspace, asset_ids)

    def get(self, workspace: str, asset_id: str) -> IndexDoc | None:
        self._guard()
        return self.inner.get(workspace, asset_id)

    def revisions(self) -> Iterator[tuple[str, str, int]]:
        self._guard()
        return self.inner.revisions()

    def search(self, query: SearchQuery) -> SearchPage:
        self._guard()
        return self.inner.search(query)

    def knn(self, query: VectorQuery) -> list[Hit]:
        self._guard()
        return self.inner.knn(query)

    def stats(self, workspace: str) -> IndexStats:
        self._guard()
        return self.inner.stats(workspace)

    def rebuild(self, docs: Iterable[IndexDoc]) -> int:
        self._guard()
        return self.inner.rebuild(docs)

    def refresh(self) -> None:
        self.inner.refresh()

    def read_ahead(self) -> None:
        self.inner.read_ahead()

    def check(self) -> None:
        self._guard()

    def close(self) -> None:
        self.inner.close()


def png_file(tmp: Path, colour: tuple[int, int, int], name: str) -> Spooled:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), colour).save(buffer, format="PNG")
    buffer.seek(0)
    return spool_file(buffer, tmp, name, 10_000_000)


Wired = tuple[Container, FakeObjectStore, SwitchableIndex, FakeEmbedder]


@pytest.fixture
def wired(tmp_path: Path) -> Iterator[Wired]:
    settings = make_settings(tmp_path / "data", indexer_lease_seconds=0.3)
    store = FakeObjectStore()
    index = SwitchableIndex(EmbeddedSearchIndex(tmp_path / "index"))
    embedder = FakeEmbedder()
    container = build(settings, store=store, index=index, embedder=embedder)
    container.index.ensure()
    yield container, store, index, embedder
    container.close()


def upload(container: Container, tmp: Path, colour: tuple[int, int, int], prompt: str) -> str:
    spooled = png_file(tmp, colour, f"{prompt}.png")
    try:
        return container.assets.upload("ws", spooled, UploadForm(prompt=prompt)).id
    finally:
        spooled.discard()


def found(container: Container, text: str) -> list[str]:
    page = container.index.search(SearchQuery(workspace="ws", text=text))
    return [hit.asset.id for hit in page.hits]


def test_upload_then_drain_indexes_with_vector_and_preview(wired: Wired, tmp_path: Path) -> None:
    container, _, index, _ = wired
    asset_id = upload(container, tmp_path, (200, 0, 0), "lantern")
    assert container.indexer.drain() == 1
    assert found(container, "lantern") == [asset_id]
    doc = index.get("ws", asset_id)
    assert doc is not None and doc.vector is not None
    assert doc.asset.status == "ready"
    assert set(doc.asset.previews) == {"small", "medium"}


def test_index_outage_loses_nothing_and_converges(wired: Wired, tmp_path: Path) -> None:
    container, _, index, _ = wired
    index.down = True
    ids = [upload(container, tmp_path, (n * 20, 0, 0), f"harbor{n}") for n in range(3)]
    with pytest.raises(IndexUnavailable):
        container.indexer.run_once()
    assert container.queue.pending() == 3  # nothing acknowledged while the index was down
    index.down = False
    time.sleep(1.1)  # the retry back-off of the first attempt
    container.indexer.drain()
    for n, asset_id in enumerate(ids):
        assert found(container, f"harbor{n}") == [asset_id]
    assert container.queue.pending() == 0


def test_killed_worker_mid_batch_loses_and_duplicates_nothing(wired: Wired, tmp_path: Path) -> None:
    container, _, index, _ = wired
    ids = [upload(container, tmp_path, (0, n * 10, 0), f"orchard{n}") for n in range(5)]
    stolen = container.queue.claim(3)  # a worker claims a batch, then is killed
    assert len(stolen) == 3
    container.indexer.drain()  # only the two unleased items are due now
    assert len(list(index.revisions())) == 2
    time.sleep(0.35)  # the dead worker's lease expires
    container.indexer.drain()
    revisions = list(index.revisions())
    assert sorted(asset_id for _, asset_id, _ in revisions) == sorted(ids)
    assert container.queue.pending() == 0


def test_reconcile_repairs_drift(wired: Wired, tmp_path: Path) -> None:
    container, _, index, _ = wired
    kept = upload(container, tmp_path, (1, 1, 200), "meadow")
    container.indexer.drain()
    index.inner.remove("ws", [kept])  # the index lost a document
    ghost = index.get("ws", kept)
    assert ghost is None
    report = container.indexer.reconcile()
    assert report.enqueued == 1
    container.indexer.drain()
    assert found(container, "meadow") == [kept]


def test_reindex_rebuilds_from_the_store_without_re_embedding(wired: Wired, tmp_path: Path) -> None:
    container, _, index, embedder = wired
    ids = {upload(container, tmp_path, (n * 40, 90, 9), f"glacier{n}") for n in range(4)}
    container.indexer.drain()
    calls = embedder.calls
    index.inner.rebuild(iter([]))  # wipe the index
    assert found(container, "glacier1") == []
    assert container.indexer.reindex() == 4
    assert {i for _, i, _ in index.revisions()} == ids
    assert embedder.calls == calls  # vectors came from the per-blob cache
    doc = index.get("ws", next(iter(ids)))
    assert doc is not None and doc.vector is not None


def test_store_outage_during_upload_is_503_and_retry_makes_one_asset(
    wired: Wired, tmp_path: Path
) -> None:
    container, store, _, _ = wired
    store.fail_keys_with_prefix = "manifests/"
    with pytest.raises(StoreUnavailable):
        upload(container, tmp_path, (5, 5, 5), "retry")
    assert list(container.assets.manifests.iter_keys()) == []
    store.fail_keys_with_prefix = None
    asset_id = upload(container, tmp_path, (5, 5, 5), "retry")
    assert [a for _, a in container.assets.manifests.iter_keys()] == [asset_id]


def test_without_weights_assets_are_indexed_without_vectors(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    container = build(settings, embedder=FakeEmbedder(available=False))
    container.index.ensure()
    try:
        asset_id = upload(container, tmp_path, (9, 9, 9), "offline")
        container.indexer.drain()
        doc = container.index.get("ws", asset_id)
        assert doc is not None and doc.vector is None
        assert found(container, "offline") == [asset_id]
        from assetlens.errors import EmbeddingUnavailable

        with pytest.raises(EmbeddingUnavailable):
            container.search.similar("ws", asset_id, 5)
        assert (
            container.index.knn(
                VectorQuery(workspace="ws", vector=[1.0] + [0.0] * 47, model="x", filters=Filters())
            )
            == []
        )
    finally:
        container.close()


def test_a_file_that_breaks_analysis_is_retried_then_marked_failed(tmp_path: Path) -> None:
    calls: list[str] = []

    def broken_analyse(*_: object) -> media.Analysis:
        calls.append("x")
        raise RuntimeError("decoder crashed")

    settings = make_settings(tmp_path / "data", indexer_max_attempts=2)
    container = build(settings, embedder=FakeEmbedder())
    container.indexer = Indexer(
        settings, container.store, container.index, container.queue, None, analyse=broken_analyse
    )
    container.index.ensure()
    try:
        good_before = upload(container, tmp_path, (1, 2, 3), "sturdy")
        container.indexer.run_once()  # must not raise: one bad item never stops the worker
        for _ in range(4):
            items = container.queue.claim(10)  # skip the back-off wait: claim directly
            if not items:
                for key in list(container.store.list_keys("queue/")):
                    state = json.loads(container.store.get_bytes(key).data)
                    state["not_before"] = 0
                    container.store.put_bytes(key, json.dumps(state).encode())
                items = container.queue.claim(10)
            container.indexer.process(items)
        asset = container.assets.get("ws", good_before)
        assert asset.status == "failed"
        assert asset.error
        assert len(calls) == 2  # max_attempts analyses, then given up
        assert found(container, "sturdy") == [good_before]  # indexed, as failed
        assert container.queue.pending() == 0
    finally:
        container.close()


def test_an_upkeep_job_that_always_fails_never_stops_indexing(tmp_path: Path) -> None:
    """The worker loop's periodic jobs run before each batch; one that raises on every pass
    (a bug, a corrupt schedule object) is logged, and the uploads still get indexed."""
    runs: list[str] = []

    def broken_job() -> None:
        runs.append("x")
        raise ValueError("a job that is broken for good")

    settings = make_settings(tmp_path / "data", indexer_poll_seconds=0.01)
    container = build(settings, embedder=FakeEmbedder())
    container.indexer = Indexer(
        settings, container.store, container.index, container.queue, None, jobs=[broken_job]
    )
    container.index.ensure()
    stop = threading.Event()
    worker = threading.Thread(target=container.indexer.run, args=(stop,))
    try:
        asset_id = upload(container, tmp_path, (4, 5, 6), "resilient")
        worker.start()
        deadline = time.monotonic() + 60
        while container.queue.pending() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert container.queue.pending() == 0
        assert found(container, "resilient") == [asset_id]
        assert runs  # the broken job did run (and fail) first
    finally:
        stop.set()
        worker.join(30)
        container.close()
