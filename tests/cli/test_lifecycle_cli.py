"""`assetlens purge` and `assetlens gc`, run as a user would (a subprocess)."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from assetlens import layout
from assetlens.bootstrap import build
from assetlens.domain import Asset
from assetlens.errors import NotFound
from assetlens.services.asset_inputs import UploadForm
from assetlens.spool import spool_file
from tests.cli.test_cli import run
from tests.conftest import make_settings


def upload(data_dir: Path, tmp_path: Path, workspace: str, shade: int) -> Asset:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (shade, 10, 10)).save(buffer, format="PNG")
    buffer.seek(0)
    container = build(make_settings(data_dir), use_embedder=False)
    try:
        spooled = spool_file(buffer, tmp_path, f"{shade}.png", 1_000_000)
        return container.assets.upload(workspace, spooled, UploadForm())
    finally:
        container.close()


def test_purge_removes_assets_trashed_longer_than_asked(tmp_path: Path) -> None:
    data = tmp_path / "data"
    old = upload(data, tmp_path, "studio", 1)
    fresh = upload(data, tmp_path, "studio", 2)
    elsewhere = upload(data, tmp_path, "other", 3)
    container = build(make_settings(data), use_embedder=False)

    def backdate(asset: Asset) -> Asset:
        assert asset.deleted_at is not None
        asset.deleted_at -= timedelta(days=5)
        return asset

    for asset in (old, fresh, elsewhere):
        container.assets.delete(asset.workspace, asset.id)
    container.assets.manifests.update("studio", old.id, backdate)
    container.assets.manifests.update("other", elsewhere.id, backdate)
    container.close()

    result = run(data, "purge", "--older-than", "3", "--workspace", "studio")
    assert result.returncode == 0, result.stderr
    assert "purged 1 asset(s)" in result.stderr
    container = build(make_settings(data), use_embedder=False)
    try:
        with pytest.raises(NotFound):
            container.assets.get("studio", old.id)
        assert not container.store.exists(layout.blob_key(old.sha256))
        assert container.assets.get("studio", fresh.id).deleted_at is not None
        assert container.assets.get("other", elsewhere.id).deleted_at is not None
    finally:
        container.close()
    assert run(data, "purge", "--workspace", "Bad Name!").returncode == 2


def test_gc_backfills_markers_of_an_existing_library(tmp_path: Path) -> None:
    data = tmp_path / "data"
    asset = upload(data, tmp_path, "studio", 4)
    container = build(make_settings(data), use_embedder=False)
    container.store.delete(layout.blob_ref_key(asset.sha256, "studio", asset.id))
    container.close()  # now like a library from before reference markers
    result = run(data, "gc")
    assert result.returncode == 0, result.stderr
    assert "1 reference markers written" in result.stderr
    container = build(make_settings(data), use_embedder=False)
    try:
        assert container.store.exists(layout.blob_ref_key(asset.sha256, "studio", asset.id))
        assert container.store.exists(layout.BLOB_REFS_COMPLETE_KEY)
    finally:
        container.close()
