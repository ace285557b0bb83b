"""Poison items (SECURITY.md): one asset whose analysis, embedding or indexing raises
anything is retried with back-off and marked failed after the maximum attempts, without
holding up the items around it; `reconcile --retry-failed` gives it another go.

Fakes passed in, time from an injected clock: the back-off is observed, never waited for.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from assetlens import layout, media, provenance
from assetlens.bootstrap import Container, build
from assetlens.domain import AssetStatus, AssetType, Generation, MediaInfo
from assetlens.errors import IndexUnavailable
from assetlens.provenance.stealth import StealthRead
from assetlens.query import IndexDoc, SearchQuery
from assetlens.services.asset_inputs import UploadForm
from assetlens.services.indexing import Analyser, Extractor, Indexer
from assetlens.spool import spool_file
from assetlens.workqueue import WorkQueue, backoff_delay
from indexer.embedded import EmbeddedSearchIndex
from tests.conftest import make_settings
from tests.fakes import FakeObjectStore, PoisonEmbedder
from tests.unit.core.test_indexing import SwitchableIndex

POISON = (200, 30, 160)
MAX_ATTEMPTS = 3


class Clock:
    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now


class PickyIndex(SwitchableIndex):
    """Refuses (ValueError, as a serialiser bug would) any batch holding an asset named
    `refused`; can also be switched off to simulate an outage."""

    refused = "refused.png"

    def upsert(self, docs: Sequence[IndexDoc]) -> None:
        if any(doc.asset.name == self.refused for doc in docs):
            raise ValueError("cannot serialise this document")
        super().upsert(docs)


@dataclass
class Library:
    container: Container
    store: FakeObjectStore
    index: PickyIndex
    embedder: PoisonEmbedder
    queue: WorkQueue
    clock: Clock
    indexer: Indexer
    tmp: Path

    def upload(self, name: str, colour: tuple[int, int, int]) -> str:
        buffer = io.BytesIO()
        Image.new("RGB", (32, 32), colour).save(buffer, format="PNG")
        buffer.seek(0)
        spooled = spool_file(buffer, self.tmp, name, 10_000_000)
        try:
            return self.container.assets.upload("ws", spooled, UploadForm()).id
        finally:
            spooled.discard()

    def indexed(self) -> dict[str, IndexDoc]:
        page = self.index.search(SearchQuery(workspace="ws", limit=100))
        docs = {}
        for hit in page.hits:
            doc = self.index.get("ws", hit.asset.id)
            assert doc is not None
            docs[hit.asset.name] = doc
        return docs

    def status(self, asset_id: str) -> tuple[AssetStatus, str | None]:
        asset = self.container.assets.get("ws", asset_id)
        return asset.status, asset.error


def make_library(
    tmp_path: Path,
    *,
    analyse: Analyser = media.analyse,
    extract: Extractor = provenance.extract,
    store: FakeObjectStore | None = None,
) -> Iterator[Library]:
    settings = make_settings(
        tmp_path / "data",
        indexer_max_attempts=MAX_ATTEMPTS,
        indexer_retry_base_seconds=10.0,
        indexer_retry_max_seconds=15.0,
    )
    store, clock = store or FakeObjectStore(), Clock()
    index = PickyIndex(EmbeddedSearchIndex(tmp_path / "index"))
    embedder = PoisonEmbedder(POISON)
    container = build(settings, store=store, index=index, embedder=embedder)
    container.index.ensure()
    queue = WorkQueue(store, lease_seconds=60, clock=clock)
    indexer = Indexer(settings, store, index, queue, embedder, analyse=analyse, extract=extract)
    yield Library(container, store, index, embedder, queue, clock, indexer, tmp_path)
    container.close()


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    yield from make_library(tmp_path)


def test_back_off_doubles_from_the_base_up_to_the_cap() -> None:
    assert [backoff_delay(n, 1.0, 300.0) for n in (1, 2, 3, 4, 9, 10, 10_000)] == [
        1.0,
        2.0,
        4.0,
        8.0,
        256.0,
        300.0,
        300.0,
    ]


def test_an_image_that_breaks_the_embedder_fails_alone_after_backing_off(library: Library) -> None:
    lib = library
    poison = lib.upload("poison.png", POISON)
    good = [
        lib.upload(f"{name}.png", colour)
        for name, colour in (("green", (30, 200, 40)), ("blue", (30, 40, 220)))
    ]
    assert lib.indexer.run_once() == 3  # one batch: the poison one among the others

    # The others are indexed, vectors and all; the poison one waits out its back-off.
    docs = lib.indexed()
    assert sorted(docs) == ["blue.png", "green.png"]
    assert all(docs[name].vector is not None for name in docs)
    assert [lib.status(asset_id)[0] for asset_id in good] == [AssetStatus.READY] * 2
    waits = []
    for attempt in range(1, MAX_ATTEMPTS):
        attempts, due = lib.queue.attempts("ws", poison) or (0, 0.0)
        assert attempts == attempt
        waits.append(due - lib.clock.now)
        assert lib.indexer.run_once() == 0  # not due yet: nothing claimed, nothing blocked
        # Meanwhile new work flows past it.
        newcomer = lib.upload(f"new{attempt}.png", (40 * attempt, 90, 90))
        assert lib.indexer.run_once() == 1
        assert lib.status(newcomer)[0] is AssetStatus.READY
        lib.clock.now = due
        assert lib.indexer.run_once() == 1
    assert waits == [10.0, 15.0]  # base, then doubled but capped

    status, error = lib.status(poison)
    assert status is AssetStatus.FAILED
    assert error == "embedding failed (RuntimeError); see the indexer log"
    assert lib.queue.pending() == 0
    failed = lib.indexed()["poison.png"]  # listed as failed, without a vector
    assert failed.asset.status is AssetStatus.FAILED and failed.vector is None


def test_a_parser_bug_on_one_file_fails_that_asset_only(tmp_path: Path) -> None:
    def extract(path: Path, mime: str, stealth: StealthRead | None) -> Generation | None:
        image = Image.open(path)
        if image.getpixel((0, 0)) == POISON:
            raise ValueError(f"bad chunk in {path}")  # the message names a server path
        return provenance.extract(path, mime, stealth)

    for lib in make_library(tmp_path, extract=extract):
        poison = lib.upload("poison.png", POISON)
        fine = lib.upload("fine.png", (1, 2, 3))
        for _ in range(MAX_ATTEMPTS):
            assert lib.indexer.run_once() >= 1
            lib.clock.now += 100
        assert lib.status(fine) == (AssetStatus.READY, None)
        status, error = lib.status(poison)
        assert status is AssetStatus.FAILED
        assert error == "analysis failed (ValueError); see the indexer log"
        assert str(tmp_path) not in (error or "")
        assert sorted(lib.indexed()) == ["fine.png", "poison.png"]
        assert lib.queue.pending() == 0


def test_an_outage_refunds_the_healthy_items_but_not_the_poison_in_the_same_batch(
    tmp_path: Path,
) -> None:
    def analyse(path: Path, kind: AssetType, mime: str) -> media.Analysis:
        if Image.open(path).getpixel((0, 0)) == POISON:
            raise RuntimeError("decoder crashed")
        return media.analyse(path, kind, mime)

    for lib in make_library(tmp_path, analyse=analyse):
        poison = lib.upload("poison.png", POISON)
        healthy = lib.upload("healthy.png", (9, 99, 9))
        lib.index.down = True
        with pytest.raises(IndexUnavailable):
            lib.indexer.run_once()
        assert lib.queue.attempts("ws", healthy) == (0, lib.clock.now + 10)
        assert lib.queue.attempts("ws", poison) == (1, lib.clock.now + 10)


def test_a_document_the_index_refuses_fails_without_holding_the_batch(library: Library) -> None:
    lib = library
    refused = lib.upload(PickyIndex.refused, (5, 5, 5))
    kept = lib.upload("kept.png", (6, 60, 6))
    for _ in range(MAX_ATTEMPTS):
        lib.indexer.run_once()
        assert "kept.png" in lib.indexed()
        lib.clock.now += 100
    assert lib.status(kept)[0] is AssetStatus.READY
    assert lib.status(refused) == (
        AssetStatus.FAILED,
        "indexing failed (ValueError); see the indexer log",
    )
    assert lib.queue.pending() == 0


def test_an_outage_does_not_use_up_attempts(library: Library) -> None:
    lib = library
    asset_id = lib.upload("patient.png", (70, 70, 200))
    lib.index.down = True
    for _ in range(MAX_ATTEMPTS + 2):
        with pytest.raises(IndexUnavailable):
            lib.indexer.run_once()
        # The claim is given back (attempts 0) and the item is due after the base delay.
        assert lib.queue.attempts("ws", asset_id) == (0, lib.clock.now + 10)
        lib.clock.now += 100
    lib.index.down = False
    assert lib.indexer.run_once() == 1
    assert lib.status(asset_id) == (AssetStatus.READY, None)


def test_a_corrupt_cached_vector_is_recomputed(library: Library) -> None:
    lib = library
    asset_id = lib.upload("cached.png", (10, 120, 200))
    sha = lib.container.assets.get("ws", asset_id).sha256
    key = layout.vector_key(sha, lib.embedder.model_id)
    for garbage in (
        b"{not json",
        b'{"model": "fake/colour-4x4", "vector": ["NaN"]}',
        b'{"model": "fake/colour-4x4", "vector": []}',
        b"[1, 2]",
    ):
        lib.store.put_bytes(key, garbage)
        lib.queue.enqueue("ws", asset_id)
        assert lib.indexer.run_once() == 1
        doc = lib.index.get("ws", asset_id)
        assert doc is not None and doc.vector is not None, garbage
        assert json.loads(lib.store.get_bytes(key).data)["vector"] == doc.vector
    assert lib.status(asset_id) == (AssetStatus.READY, None)


def test_retry_failed_gives_a_cured_asset_a_fresh_set_of_attempts(library: Library) -> None:
    lib = library
    poison = lib.upload("poison.png", POISON)
    for _ in range(MAX_ATTEMPTS):
        lib.indexer.run_once()
        lib.clock.now += 100
    assert lib.status(poison)[0] is AssetStatus.FAILED
    assert lib.indexer.reconcile().retried == 0  # a plain reconcile leaves it failed
    lib.indexer.drain()
    assert lib.status(poison)[0] is AssetStatus.FAILED

    lib.embedder.poison = None  # the fix is deployed
    report = lib.indexer.reconcile(retry_failed=True)
    assert report.retried == 1
    assert lib.status(poison) == (AssetStatus.PROCESSING, None)
    lib.indexer.drain()
    assert lib.status(poison) == (AssetStatus.READY, None)
    doc = lib.index.get("ws", poison)
    assert doc is not None and doc.vector is not None


def test_reindex_with_retry_failed_queues_the_failed_ones(library: Library) -> None:
    lib = library
    poison = lib.upload("poison.png", POISON)
    for _ in range(MAX_ATTEMPTS):
        lib.indexer.run_once()
        lib.clock.now += 100
    lib.embedder.poison = None
    assert lib.indexer.reindex(retry_failed=True) == 1
    assert lib.status(poison)[0] is AssetStatus.PROCESSING
    lib.indexer.drain()
    assert lib.status(poison) == (AssetStatus.READY, None)


def test_a_worker_killed_on_every_attempt_gives_up_without_retrying_the_crash(
    library: Library,
) -> None:
    lib = library
    asset_id = lib.upload("crasher.png", POISON)
    for _ in range(MAX_ATTEMPTS):
        assert len(lib.queue.claim(10)) == 1  # claimed, then the worker dies: no outcome
        lib.clock.now += 61  # the lease runs out
    calls = lib.embedder.poisoned_calls
    assert lib.indexer.run_once() == 1
    assert lib.embedder.poisoned_calls == calls  # the crashing step isn't tried again
    status, error = lib.status(asset_id)
    assert status is AssetStatus.FAILED and error is not None and "interrupted" in error
    assert lib.queue.pending() == 0
    assert lib.indexed()["crasher.png"].asset.type is AssetType.IMAGE


def test_an_image_whose_pixels_do_not_decode_is_failed_at_once(tmp_path: Path) -> None:
    def analyse(path: Path, asset_type: AssetType, mime: str) -> media.Analysis:
        return media.Analysis(media=MediaInfo(format="png", width=8, height=8), undecodable=True)

    for lib in make_library(tmp_path, analyse=analyse):
        damaged = lib.upload("damaged.png", (9, 9, 9))
        assert lib.indexer.run_once() == 1
        assert lib.status(damaged) == (
            AssetStatus.FAILED,
            "the file is damaged: its pixels could not be decoded",
        )
        assert lib.queue.pending() == 0  # no retries: another decode would fail the same
        assert lib.container.assets.get("ws", damaged).previews == {}
