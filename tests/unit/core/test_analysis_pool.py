"""Analysis in worker processes and the indexer's batch pipeline: same results as in
process, a crashing worker fails only its own file, and a pipeline that stops gives the
batch it prepared ahead back to the queue."""

from __future__ import annotations

import io
import multiprocessing
import os
from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image

from assetlens import media
from assetlens.bootstrap import build
from assetlens.domain import AssetStatus, AssetType
from assetlens.errors import StoreUnavailable
from assetlens.media.pool import AnalysisCrashed, AnalysisPool
from assetlens.services.asset_inputs import UploadForm
from assetlens.services.index_pipeline import BatchPipeline, PreparedBatch
from assetlens.spool import spool_file
from assetlens.workqueue import WorkItem, WorkQueue
from tests.conftest import make_settings
from tests.fakes import FakeEmbedder, FakeObjectStore


def crash_on_poison(path: Path, asset_type: AssetType, mime: str) -> media.Analysis:
    """An analyser whose worker dies (as in a native decoder crash) on files named poison."""
    if path.name.startswith("poison"):
        os._exit(3)
    return media.analyse(path, asset_type, mime)


def _png(tmp_path: Path, name: str, colour: tuple[int, int, int], size: int = 900) -> Path:
    path = tmp_path / name
    Image.new("RGB", (size, size // 2), colour).save(path, format="PNG")
    return path


def test_pool_results_match_in_process_analysis(tmp_path: Path) -> None:
    path = _png(tmp_path, "red.png", (200, 10, 10))
    pool = AnalysisPool(2)
    try:
        pooled = pool(path, AssetType.IMAGE, "image/png")
    finally:
        pool.close()
    local = media.analyse(path, AssetType.IMAGE, "image/png")
    assert pooled.media == local.media
    assert pooled.phash == local.phash
    assert pooled.previews == local.previews
    assert pooled.embed_image is not None and local.embed_image is not None
    assert pooled.embed_image.tobytes() == local.embed_image.tobytes()


def test_a_worker_crash_fails_only_the_file_that_crashes_it(tmp_path: Path) -> None:
    poison = _png(tmp_path, "poison.png", (0, 0, 0), size=40)
    good = _png(tmp_path, "good.png", (0, 200, 0), size=40)
    pool = AnalysisPool(1, crash_on_poison)
    try:
        with pytest.raises(AnalysisCrashed):
            pool(poison, AssetType.IMAGE, "image/png")
        assert pool(good, AssetType.IMAGE, "image/png").media.width == 40  # a fresh pool
    finally:
        pool.close()


class RecordingEmbedder(FakeEmbedder):
    """The colour fake, remembering the size of every image it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[tuple[int, int]] = []

    def embed_images(self, images: Sequence[Image.Image]) -> list[list[float]]:
        self.sizes += [im.size for im in images]
        return super().embed_images(images)


def test_indexer_with_worker_processes_indexes_every_asset_once(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", indexer_workers=2, indexer_batch_size=3)
    embedder = RecordingEmbedder()
    container = build(settings, embedder=embedder)
    container.index.ensure()
    try:
        ids = []
        for n in range(7):
            buffer = io.BytesIO()
            Image.new("RGB", (900, 600), (30 * n, 10, 200 - 20 * n)).save(buffer, "PNG")
            buffer.seek(0)
            spooled = spool_file(buffer, tmp_path / "spool", f"{n}.png", 10_000_000)
            ids.append(container.assets.upload("ws", spooled, UploadForm(prompt=f"p{n}")).id)
        assert container.indexer.drain() == 7
        assert container.queue.pending() == 0
        for asset_id in ids:
            asset = container.assets.get("ws", asset_id)
            assert asset.status is AssetStatus.READY
            assert set(asset.previews) == {"small", "medium"}
        # The analysis's own 224-px image was embedded, not a decoded 600-px preview.
        assert sorted(embedder.sizes) == [(336, 224)] * 7
    finally:
        container.close()


class _Stages:
    """Pipeline stages whose first `finish` fails as in a store outage."""

    def __init__(self) -> None:
        self.finished: list[list[str]] = []
        self.released: list[list[str]] = []

    def prepare(self, items: list[WorkItem]) -> PreparedBatch:
        return PreparedBatch(items)

    def finish(self, batch: PreparedBatch) -> None:
        self.finished.append([item.asset_id for item in batch.items])
        raise StoreUnavailable("the store is down")

    def release(self, batch: PreparedBatch) -> None:
        self.released.append([item.asset_id for item in batch.items])


def test_a_pipeline_that_stops_releases_the_batch_it_prepared_ahead() -> None:
    queue = WorkQueue(FakeObjectStore())
    for n in range(4):
        queue.enqueue("ws", f"a{n}")
    stages = _Stages()
    pipeline = BatchPipeline(stages, queue, batch_size=2)
    try:
        with pytest.raises(StoreUnavailable):
            pipeline.drain(10)
    finally:
        pipeline.close()
    assert len(stages.finished) == 1 and len(stages.released) == 1
    assert sorted(stages.finished[0] + stages.released[0]) == ["a0", "a1", "a2", "a3"]


def test_start_brings_the_workers_up_before_the_first_file(tmp_path: Path) -> None:
    path = _png(tmp_path, "blue.png", (0, 0, 200), size=40)
    before = set(multiprocessing.active_children())
    pool = AnalysisPool(2)
    try:
        pool.start()
        started = set(multiprocessing.active_children()) - before
        assert len(started) == 2
        assert pool(path, AssetType.IMAGE, "image/png").media.width == 40
    finally:
        pool.close()
    assert not set(multiprocessing.active_children()) - before
