"""ReferenceService and LineageService with the fake store passed in: the interleavings of
a delete and a new reference, forced step by step."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from assetlens.bootstrap import Container, build
from assetlens.errors import AssetInUse, Conflict
from assetlens.ports import ObjectInfo
from assetlens.services.asset_inputs import AssetPatch, UploadForm
from assetlens.services.references import ReferenceIn
from assetlens.spool import spool_file
from tests.conftest import make_settings
from tests.fakes import FakeEmbedder, FakeObjectStore

COVER = ReferenceIn(resource_type="story", resource_id="s-1", usage_type="cover")


class HookedStore(FakeObjectStore):
    """Runs `before_put(key)` before writing any key under `hook_prefix` (once)."""

    def __init__(self) -> None:
        super().__init__()
        self.hook_prefix = "\0"
        self.before_put: Callable[[str], object] | None = None

    def put_bytes(self, key: str, data: bytes, **kwargs: object) -> ObjectInfo:
        hook = self.before_put
        if hook is not None and key.startswith(self.hook_prefix):
            self.before_put = None
            hook(key)
        return super().put_bytes(key, data, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def wired(tmp_path: Path) -> Iterator[tuple[Container, HookedStore]]:
    store = HookedStore()
    container = build(make_settings(tmp_path / "data"), store=store, embedder=FakeEmbedder())
    container.index.ensure()
    yield container, store
    container.close()


def upload(container: Container, tmp_path: Path, shade: int, **form: object) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (shade, 40, 80)).save(buffer, format="PNG")
    buffer.seek(0)
    spooled = spool_file(buffer, tmp_path, f"u{shade}.png", 10_000_000)
    return container.assets.upload("ws", spooled, UploadForm(**form)).id  # type: ignore[arg-type]


def test_a_forced_delete_between_count_and_document_leaves_no_reference(
    wired: tuple[Container, HookedStore], tmp_path: Path
) -> None:
    container, store = wired
    asset_id = upload(container, tmp_path, 1)
    store.hook_prefix = "usage-refs/"
    store.before_put = lambda _: container.references.delete_asset("ws", asset_id, force=True)
    with pytest.raises(Conflict, match="trash"):
        container.references.create("ws", asset_id, COVER)
    assert container.assets.get("ws", asset_id).status.value == "deleted"
    assert list(store.list_keys("usage-refs/")) == []


def test_a_plain_delete_between_count_and_document_is_refused(
    wired: tuple[Container, HookedStore], tmp_path: Path
) -> None:
    container, store = wired
    asset_id = upload(container, tmp_path, 2)
    refused: list[AssetInUse] = []

    def delete(_: str) -> None:
        with pytest.raises(AssetInUse) as caught:
            container.references.delete_asset("ws", asset_id)
        refused.append(caught.value)

    store.hook_prefix = "usage-refs/"
    store.before_put = delete
    ref = container.references.create("ws", asset_id, COVER)
    assert refused and refused[0].extra["references_count"] == 1
    assert container.assets.get("ws", asset_id).references_count == 1
    assert [r.id for r in container.references.list_references("ws", asset_id)] == [ref.id]


def test_a_lost_document_write_gives_the_count_back(
    wired: tuple[Container, HookedStore], tmp_path: Path
) -> None:
    container, store = wired
    asset_id = upload(container, tmp_path, 3)
    store.fail_keys_with_prefix = "usage-refs/"
    with pytest.raises(Exception, match="down"):
        container.references.create("ws", asset_id, COVER)
    store.fail_keys_with_prefix = None
    assert container.assets.get("ws", asset_id).references_count == 0


def test_lineage_walk_is_depth_limited_and_cycle_safe(
    wired: tuple[Container, HookedStore], tmp_path: Path
) -> None:
    container, _ = wired
    a = upload(container, tmp_path, 10)
    b = upload(container, tmp_path, 11, metadata={"source_asset_id": a})
    c = upload(container, tmp_path, 12, metadata={"source_asset_id": b})
    container.assets.update("ws", a, AssetPatch(metadata={"source_asset_id": c}), None)
    found = container.lineage.lineage("ws", a, depth=10)
    assert [(r.asset.id, r.depth) for r in found.ancestors] == [(c, 1), (b, 2)]
    assert [(r.asset.id, r.depth) for r in found.derivatives] == [(b, 1), (c, 2)]
    assert [r.asset.id for r in container.lineage.lineage("ws", a, depth=1).ancestors] == [c]
