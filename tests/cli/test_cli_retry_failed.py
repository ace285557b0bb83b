"""`assetlens reconcile --retry-failed` and `assetlens reindex --retry-failed`: the assets
indexing gave up on go back to the queue for a fresh set of attempts."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from assetlens import media
from assetlens.bootstrap import build
from assetlens.domain import AssetStatus, AssetType
from assetlens.services.asset_inputs import UploadForm
from assetlens.services.indexing import Indexer
from assetlens.spool import spool_file
from tests.cli.test_cli import run
from tests.conftest import make_settings


def broken_analyse(path: Path, kind: AssetType, mime: str) -> media.Analysis:
    raise RuntimeError("decoder crashed")


def failed_library(data: Path) -> str:
    """A library with one asset whose analysis failed for good; returns its id."""
    settings = make_settings(data, indexer_max_attempts=1)
    container = build(settings, use_embedder=False)
    container.index.ensure()
    try:
        buffer = io.BytesIO()
        Image.new("RGB", (16, 16), (3, 4, 5)).save(buffer, format="PNG")
        buffer.seek(0)
        spooled = spool_file(buffer, data.parent, "flaky.png", 1_000_000)
        asset_id = container.assets.upload("studio", spooled, UploadForm()).id
        spooled.discard()
        Indexer(
            settings,
            container.store,
            container.index,
            container.queue,
            None,
            analyse=broken_analyse,
        ).drain()
        assert container.assets.get("studio", asset_id).status is AssetStatus.FAILED
        return asset_id
    finally:
        container.close()


def state(data: Path, asset_id: str) -> tuple[AssetStatus, str | None, int]:
    container = build(make_settings(data), use_embedder=False)
    try:
        asset = container.assets.get("studio", asset_id)
        return asset.status, asset.error, container.queue.pending()
    finally:
        container.close()


def test_reconcile_retry_failed_requeues_failed_assets(tmp_path: Path) -> None:
    data = tmp_path / "data"
    asset_id = failed_library(data)
    plain = run(data, "reconcile")
    assert plain.returncode == 0, plain.stderr
    assert "failed ones retried 0" in plain.stderr
    assert state(data, asset_id)[0] is AssetStatus.FAILED

    retried = run(data, "reconcile", "--retry-failed")
    assert retried.returncode == 0, retried.stderr
    assert "failed ones retried 1" in retried.stderr
    assert state(data, asset_id) == (AssetStatus.PROCESSING, None, 1)


def test_reindex_retry_failed_requeues_failed_assets(tmp_path: Path) -> None:
    data = tmp_path / "data"
    asset_id = failed_library(data)
    result = run(data, "reindex", "--retry-failed")
    assert result.returncode == 0, result.stderr
    assert "reindexed 1 assets" in result.stderr
    assert state(data, asset_id) == (AssetStatus.PROCESSING, None, 1)
