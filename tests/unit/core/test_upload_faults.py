"""An upload whose blob cannot be written leaves nothing behind in the store."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from assetlens.bootstrap import Container, build
from assetlens.domain import new_id
from assetlens.errors import StoreUnavailable
from assetlens.services.asset_inputs import UploadForm
from assetlens.spool import spool_file
from tests.conftest import make_settings
from tests.fakes import FakeObjectStore


@pytest.fixture
def wired(tmp_path: Path) -> Iterator[tuple[Container, FakeObjectStore]]:
    store = FakeObjectStore()
    container = build(make_settings(tmp_path / "data"), store=store, use_embedder=False)
    container.index.ensure()
    yield container, store
    container.close()


def upload(container: Container, tmp_path: Path, shade: int) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (shade, 40, 80)).save(buffer, format="PNG")
    buffer.seek(0)
    spooled = spool_file(buffer, tmp_path, f"u{shade}.png", 10_000_000)
    return container.assets.upload("ws", spooled, UploadForm(prompt="p")).id


@pytest.mark.parametrize("failing", ["blobs/", "sha/"])
def test_a_store_failure_before_the_manifest_takes_the_markers_back(
    wired: tuple[Container, FakeObjectStore], tmp_path: Path, failing: str
) -> None:
    container, store = wired
    upload(container, tmp_path, shade=1)
    before = set(store.list_keys(""))
    store.fail_keys_with_prefix = failing
    with pytest.raises(StoreUnavailable):
        upload(container, tmp_path, shade=2)
    store.fail_keys_with_prefix = None
    # No reference marker, duplicate marker, blob or manifest of the failed upload.
    assert set(store.list_keys("")) == before
    assert upload(container, tmp_path, shade=2)  # and the same file goes in afterwards


def test_markers_stay_for_gc_when_the_store_is_down_altogether(
    wired: tuple[Container, FakeObjectStore], tmp_path: Path
) -> None:
    container, store = wired
    store.fail_keys_with_prefix = "blobs/"

    def down_after_blob_failure(key: str) -> None:
        raise StoreUnavailable("still down")

    store.delete = down_after_blob_failure  # type: ignore[method-assign,assignment]
    with pytest.raises(StoreUnavailable):
        upload(container, tmp_path, shade=3)
    assert len(list(store.list_keys("refs/"))) == 1  # left for `assetlens gc` to sweep
    assert list(store.list_keys("manifests/")) == []


def test_a_planned_id_keeps_its_markers_for_gc(
    wired: tuple[Container, FakeObjectStore], tmp_path: Path
) -> None:
    """An id planned ahead (an idempotent request's) may be shared with the request that
    took over its claim and is writing the same asset: a failure here must not take back
    markers that request relies on. They stay for `assetlens gc`."""
    container, store = wired
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (4, 40, 80)).save(buffer, format="PNG")
    buffer.seek(0)
    spooled = spool_file(buffer, tmp_path, "u4.png", 10_000_000)
    planned = new_id()
    store.fail_keys_with_prefix = "sha/"
    with pytest.raises(StoreUnavailable):
        container.assets.submit("ws", spooled, UploadForm(asset_id=planned))
    store.fail_keys_with_prefix = None
    assert any(key.endswith(planned) for key in store.list_keys("refs/"))
    made = container.assets.submit("ws", spooled, UploadForm(asset_id=planned))
    assert made.asset.id == planned
