"""FolderService and TagService with the fake store and a switchable index passed in."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from assetlens.bootstrap import Container, build
from assetlens.errors import IndexUnavailable, InvalidInput, NotFound
from assetlens.services.asset_inputs import AssetPatch, UploadForm
from assetlens.services.folders import FolderCreate
from assetlens.spool import spool_file
from indexer.embedded import EmbeddedSearchIndex
from tests.conftest import make_settings
from tests.fakes import FakeEmbedder, FakeObjectStore
from tests.unit.core.test_indexing import SwitchableIndex


@pytest.fixture
def wired(tmp_path: Path) -> Iterator[tuple[Container, SwitchableIndex]]:
    index = SwitchableIndex(EmbeddedSearchIndex(tmp_path / "index"))
    container = build(
        make_settings(tmp_path / "data"),
        store=FakeObjectStore(),
        index=index,
        embedder=FakeEmbedder(),
    )
    container.index.ensure()
    yield container, index
    container.close()


def upload(container: Container, tmp_path: Path, form: UploadForm, shade: int = 9) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (shade, 40, 80)).save(buffer, format="PNG")
    buffer.seek(0)
    spooled = spool_file(buffer, tmp_path, f"u{shade}.png", 10_000_000)
    asset = container.assets.upload("ws", spooled, form)
    container.indexer.drain()
    return asset.id


def test_folder_listing_survives_an_index_outage_without_counts(
    wired: tuple[Container, SwitchableIndex], tmp_path: Path
) -> None:
    container, index = wired
    made = container.folders.create("ws", FolderCreate(name="Kept"))
    upload(container, tmp_path, UploadForm(folder_id=made.id))
    assert container.folders.get("ws", made.id).asset_count == 1
    index.down = True
    listed = container.folders.list_folders("ws")
    assert [(f.name, f.asset_count) for f in listed] == [("Kept", None)]
    with pytest.raises(IndexUnavailable):  # emptiness cannot be checked: 503, not a delete
        container.folders.delete("ws", made.id, force=False)
    assert container.folders.get("ws", made.id).id == made.id


def test_folder_references_are_checked_on_upload_and_patch(
    wired: tuple[Container, SwitchableIndex], tmp_path: Path
) -> None:
    container, _ = wired
    with pytest.raises(InvalidInput, match="names no folder"):
        upload(container, tmp_path, UploadForm(folder_id="0" * 32))
    asset_id = upload(container, tmp_path, UploadForm())
    with pytest.raises(InvalidInput, match="names no folder"):
        container.assets.update("ws", asset_id, AssetPatch(folder_id="f" * 32), None)
    made = container.folders.create("ws", FolderCreate(name="Real"))
    moved = container.assets.update("ws", asset_id, AssetPatch(folder_id=made.id), None)
    assert moved.folder_id == made.id


def test_tag_rename_rechecks_each_manifest_so_a_stale_index_changes_nothing(
    wired: tuple[Container, SwitchableIndex], tmp_path: Path
) -> None:
    container, _ = wired
    first = upload(container, tmp_path, UploadForm(tags=["old", "keep"]), shade=1)
    second = upload(container, tmp_path, UploadForm(tags=["old"]), shade=2)
    # Edited behind the index's back: the index still says `second` has "old".
    container.assets.manifests.update(
        "ws", second, lambda a: a.model_copy(update={"tags": ["fresh"]})
    )
    assert container.tags.rename("ws", "OLD", "new") == 1
    assert container.assets.get("ws", first).tags == ["new", "keep"]
    assert container.assets.get("ws", second).tags == ["fresh"]
    with pytest.raises(NotFound):
        container.tags.delete("ws", "\u200b")
