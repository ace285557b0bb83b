"""Versions, purge and retention through the wired services, on the fake store."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from assetlens import layout
from assetlens.bootstrap import Container, build
from assetlens.domain import Asset, AssetStatus
from assetlens.errors import Conflict, InvalidInput, NotFound
from assetlens.services.asset_inputs import UploadForm
from assetlens.services.duplicate_policy import PolicyName
from assetlens.spool import Spooled, spool_file
from assetlens.versions import VersionRecord
from indexer.embedded import EmbeddedSearchIndex
from tests.conftest import make_settings
from tests.fakes import CheckThenDeleteStore, FakeEmbedder, FakeObjectStore


@pytest.fixture
def wired(tmp_path: Path) -> Iterator[Container]:
    container = build(
        make_settings(tmp_path / "data", max_versions_kept=4),
        store=FakeObjectStore(),
        index=EmbeddedSearchIndex(tmp_path / "index"),
        embedder=FakeEmbedder(),
    )
    container.index.ensure()
    container.maintenance.backfill_refs()  # a fresh library: every use has its marker
    yield container
    container.close()


def png_file(tmp_path: Path, shade: int, name: str | None = None) -> Spooled:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (shade, 40, 80)).save(buffer, format="PNG")
    buffer.seek(0)
    return spool_file(buffer, tmp_path, name or f"v{shade}.png", 10_000_000)


def refs(container: Container, sha: str) -> list[str]:
    return [key.rsplit("/", 1)[1] for key in container.store.list_keys(layout.blob_ref_prefix(sha))]


def test_a_new_version_becomes_current_and_moves_the_references(
    wired: Container, tmp_path: Path
) -> None:
    original = wired.assets.upload("ws", png_file(tmp_path, 1), UploadForm())
    wired.indexer.drain()
    assert refs(wired, original.sha256) == [original.id]
    asset, record = wired.versions.upload("ws", original.id, png_file(tmp_path, 2), "brighter")
    assert (record.number, asset.version, asset.status) == (2, 2, AssetStatus.PROCESSING)
    assert asset.sha256 == record.sha256 != original.sha256
    assert refs(wired, original.sha256) == [f"{original.id}.v1"]
    assert refs(wired, asset.sha256) == [f"{original.id}.v2"]
    wired.indexer.drain()
    current = wired.assets.get("ws", original.id)
    assert current.status is AssetStatus.READY and current.media is not None
    history = wired.versions.history("ws", original.id)
    assert [v.number for v in history.versions] == [2, 1]
    assert history.versions[1].media is not None  # the original's analysis was kept
    assert history.versions[0].change_description == "brighter"


def test_a_new_version_must_be_valid_and_of_the_assets_type(
    wired: Container, tmp_path: Path
) -> None:
    original = wired.assets.upload("ws", png_file(tmp_path, 1), UploadForm())
    text = tmp_path / "note.txt"
    text.write_text("a prompt")
    spooled = spool_file(text.open("rb"), tmp_path, "note.txt", 10_000)
    with pytest.raises(InvalidInput, match="cannot be stored as type image"):
        wired.versions.upload("ws", original.id, spooled)
    with pytest.raises(NotFound):
        wired.versions.upload("other", original.id, png_file(tmp_path, 3))
    assert wired.versions.records.numbers("ws", original.id) == []
    assert wired.assets.get("ws", original.id).version == 1


def test_concurrent_version_uploads_take_unique_gap_free_numbers(
    wired: Container, tmp_path: Path
) -> None:
    original = wired.assets.upload("ws", png_file(tmp_path, 1), UploadForm())
    files = [png_file(tmp_path, 10 + i) for i in range(6)]
    barrier = threading.Barrier(len(files))
    numbers: list[int] = []
    errors: list[BaseException] = []

    def upload(spooled: Spooled) -> None:
        barrier.wait()
        try:
            numbers.append(wired.versions.upload("ws", original.id, spooled)[1].number)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(f,)) for f in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(numbers) == [2, 3, 4, 5, 6, 7]
    asset = wired.assets.get("ws", original.id)
    assert asset.version == 7
    kept = wired.versions.records.numbers("ws", original.id)
    assert kept[-1] == 7 and len(kept) <= 4 + len(files)  # pruning may lag behind a race
    wired.versions.upload("ws", original.id, png_file(tmp_path, 40))
    assert wired.versions.records.numbers("ws", original.id) == [5, 6, 7, 8]


def test_pruning_keeps_the_newest_and_collects_unused_blobs(
    wired: Container, tmp_path: Path
) -> None:
    original = wired.assets.upload("ws", png_file(tmp_path, 1), UploadForm())
    for shade in range(2, 7):
        wired.versions.upload("ws", original.id, png_file(tmp_path, shade))
    assert wired.versions.records.numbers("ws", original.id) == [3, 4, 5, 6]
    assert not wired.store.exists(layout.blob_key(original.sha256))


def test_rollback_delete_and_diff(wired: Container, tmp_path: Path) -> None:
    original = wired.assets.upload("ws", png_file(tmp_path, 1), UploadForm())
    wired.indexer.drain()
    second, _ = wired.versions.upload("ws", original.id, png_file(tmp_path, 2))
    wired.indexer.drain()
    rolled, record = wired.versions.rollback("ws", original.id, 1)
    assert (record.number, record.rolled_back_from, rolled.sha256) == (3, 1, original.sha256)
    assert record.change_description == "rollback to version 1"
    changes = {c.field for c in wired.versions.diff("ws", original.id, 1, 2)}
    assert "sha256" in changes
    assert wired.versions.diff("ws", original.id, 1, 3) == []  # same bytes, same metadata
    with pytest.raises(Conflict):
        wired.versions.delete("ws", original.id, 3)  # current
    wired.versions.delete("ws", original.id, 2)
    assert not wired.store.exists(layout.blob_key(second.sha256))
    with pytest.raises(NotFound):
        wired.versions.get("ws", original.id, 2)
    with pytest.raises(NotFound):
        wired.versions.rollback("ws", original.id, 2)
    assert wired.store.exists(layout.blob_key(original.sha256))  # v1 and v3 share it


def test_a_switch_interrupted_by_a_crash_is_finished(wired: Container, tmp_path: Path) -> None:
    original = wired.assets.upload("ws", png_file(tmp_path, 1), UploadForm())
    wired.versions.upload("ws", original.id, png_file(tmp_path, 2))
    asset = wired.assets.get("ws", original.id)
    crashed = VersionRecord.of_asset(asset, 3, "written, then the process died")
    wired.blobs.add_ref("ws", layout.version_ref_id(asset.id, 3), asset.sha256)
    wired.versions.records.create("ws", asset.id, crashed)
    repair = wired.maintenance.finish_versions()
    assert repair.finished == 1
    assert wired.assets.get("ws", asset.id).version == 3


def test_purge_removes_the_asset_and_its_versions_but_not_shared_bytes(
    wired: Container, tmp_path: Path
) -> None:
    first = wired.assets.upload("ws", png_file(tmp_path, 1), UploadForm())
    twin = wired.assets.upload("ws", png_file(tmp_path, 1, "twin.png"), UploadForm())
    newer, _ = wired.versions.upload("ws", first.id, png_file(tmp_path, 2))
    wired.indexer.drain()
    with pytest.raises(Conflict):
        wired.trash.purge("ws", first.id)  # not in the trash
    wired.assets.delete("ws", first.id)
    with pytest.raises(NotFound):
        wired.trash.purge("other", first.id)
    wired.trash.purge("ws", first.id)
    store = wired.store
    assert not store.exists(layout.manifest_key("ws", first.id))
    assert list(store.list_keys(layout.version_prefix("ws", first.id))) == []
    assert not store.exists(layout.blob_key(newer.sha256))
    assert list(store.list_keys(layout.derived_prefix(newer.sha256))) == []
    assert store.exists(layout.blob_key(twin.sha256))  # the twin keeps the shared bytes
    assert refs(wired, twin.sha256) == [twin.id]
    wired.indexer.drain()
    assert wired.index.get("ws", first.id) is None
    assert wired.assets.get("ws", twin.id).status is AssetStatus.READY


def test_retention_purges_only_assets_trashed_long_enough(wired: Container, tmp_path: Path) -> None:
    old = wired.assets.upload("ws", png_file(tmp_path, 1), UploadForm())
    recent = wired.assets.upload("ws", png_file(tmp_path, 2), UploadForm())
    kept = wired.assets.upload("ws", png_file(tmp_path, 3), UploadForm())
    wired.assets.delete("ws", old.id)
    wired.assets.delete("ws", recent.id)

    def backdate(asset: Asset) -> Asset:
        assert asset.deleted_at is not None
        asset.deleted_at -= timedelta(days=31)
        return asset

    wired.assets.manifests.update("ws", old.id, backdate)
    report = wired.trash.purge_expired()
    assert (report.purged, report.failed) == (1, 0)
    with pytest.raises(NotFound):
        wired.assets.get("ws", old.id)
    assert wired.assets.get("ws", recent.id).status is AssetStatus.DELETED
    assert wired.assets.get("ws", kept.id).status is AssetStatus.PROCESSING
    assert wired.trash.purge_all("ws").purged == 1
    assert wired.assets.get("ws", kept.id).id == kept.id


def test_purge_removes_the_markers_of_its_derivatives(wired: Container, tmp_path: Path) -> None:
    parent = wired.assets.upload("ws", png_file(tmp_path, 3), UploadForm())
    child = wired.assets.upload(
        "ws", png_file(tmp_path, 4), UploadForm(metadata={"source_asset_id": parent.id})
    )
    prefix = layout.lineage_child_prefix("ws", parent.id)
    assert [key.rsplit("/", 1)[1] for key in wired.store.list_keys(prefix)] == [child.id]
    wired.assets.delete("ws", parent.id)
    wired.trash.purge("ws", parent.id)
    assert list(wired.store.list_keys(prefix)) == []
    assert wired.assets.get("ws", child.id).lineage == [parent.id]  # the child keeps its story


def test_a_stale_content_marker_never_names_an_asset_with_other_bytes(
    wired: Container, tmp_path: Path
) -> None:
    """The per-content markers move after a version switch, in a separate write: one left
    behind (the store failing in between, a crash) must not make an asset whose bytes have
    changed the "duplicate" of its old bytes — under `link` that upload stored nothing."""
    first = png_file(tmp_path, 20)
    asset = wired.assets.upload("ws", first, UploadForm())
    wired.versions.upload("ws", asset.id, png_file(tmp_path, 21))
    storage = wired.stats.get("ws").library
    # As if moving the markers had failed: the old bytes' marker still names the asset.
    wired.store.put_bytes(layout.sha_member_key("ws", first.sha256, asset.id), b"")
    # Version 1's bytes are held by the kept version only, marker or not.
    assert wired.stats.get("ws").library == storage
    again = png_file(tmp_path, 20, "again.png")
    linked = wired.assets.submit("ws", again, UploadForm(duplicates=PolicyName.LINK))
    assert not linked.linked and linked.asset.id != asset.id
    assert linked.asset.duplicate_of is None
    assert wired.duplicates.find("ws", linked.asset.id).exact == []


@pytest.fixture
def racy(tmp_path: Path) -> Iterator[tuple[Container, CheckThenDeleteStore]]:
    """Wired on a store whose conditional delete checks, then deletes (MinIO's), with an
    asset at version 2 waiting to be indexed: its ack is where a concurrent change lands."""
    store = CheckThenDeleteStore(layout.QUEUE_PREFIX)
    container = build(
        make_settings(tmp_path / "data"),
        store=store,
        index=EmbeddedSearchIndex(tmp_path / "index"),
        embedder=FakeEmbedder(),
    )
    container.index.ensure()
    original = container.assets.upload("ws", png_file(tmp_path, 1), UploadForm())
    container.indexer.drain()
    container.versions.upload("ws", original.id, png_file(tmp_path, 2))
    yield container, store
    container.close()


def only_asset(container: Container) -> Asset:
    [asset] = container.assets.manifests.iter_all("ws")
    return asset


def test_a_rollback_landing_inside_the_previous_versions_ack_is_still_indexed(
    racy: tuple[Container, CheckThenDeleteStore],
) -> None:
    """The CI flake of `test_concurrent_version_uploads_are_numbered_without_gaps_or_
    duplicates[servers]`: on MinIO the queue's ack checks the ETag, then deletes. A rollback
    whose enqueue lands in between lost its queue item, and its manifest stayed
    `processing` (its `?wait=true` ran out at 30 s) until the next reconcile."""
    wired, store = racy
    asset_id = only_asset(wired).id
    rolled: list[Asset] = []
    store.between_check_and_delete = lambda _key: rolled.append(
        wired.versions.rollback("ws", asset_id, 1)[0]
    )
    wired.indexer.drain()  # indexes version 2; the rollback comes during its ack
    assert [asset.version for asset in rolled] == [3]
    current = wired.assets.get("ws", asset_id)
    assert (current.version, current.status) == (3, AssetStatus.READY)
    assert current.sha256 == rolled[0].sha256 and current.media is not None
    latest, searchable = wired.assets.visibility.indexed("ws", asset_id)
    assert searchable and latest.revision == current.revision
    assert wired.queue.pending() == 0


def test_a_store_outage_at_the_check_after_the_ack_leaves_it_to_reconcile(
    racy: tuple[Container, CheckThenDeleteStore],
) -> None:
    """The re-check after an ack cannot read the manifest: the batch still finishes (no
    error out of the indexer), and the periodic reconcile queues the change it missed."""
    wired, store = racy
    asset_id = only_asset(wired).id

    def rollback_then_outage(_key: str) -> None:
        wired.versions.rollback("ws", asset_id, 1)
        store.fail_keys_with_prefix = "manifests/"

    store.between_check_and_delete = rollback_then_outage
    wired.indexer.drain()
    store.fail_keys_with_prefix = None
    assert wired.assets.get("ws", asset_id).status is AssetStatus.PROCESSING
    assert wired.queue.pending() == 0  # the outage hid the lost item
    assert wired.indexer.reconcile().enqueued == 1
    wired.indexer.drain()
    current = wired.assets.get("ws", asset_id)
    assert (current.version, current.status) == (3, AssetStatus.READY)
