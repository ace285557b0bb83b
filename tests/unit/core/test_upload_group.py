"""`assetlens ingest` acknowledges files in groups (services/upload_group.py): a crash inside
a group loses no acknowledged file, leaves nothing half-written, and the resumed ingest
imports the unacknowledged files again, each exactly once."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image

from assetlens import layout
from assetlens.bootstrap import build
from assetlens.domain import AssetStatus
from assetlens.ingest import GROUP, GROUP_BYTES, groups, hash_in_place, ingest_files
from assetlens.ports import NewObject, ObjectInfo
from assetlens.services.duplicate_policy import PolicyName
from storage.local import LocalObjectStore
from tests.conftest import make_settings
from tests.fakes import FakeObjectStore

FILES = 2 + 4 + 8 + GROUP + 4  # the first groups are smaller; the last one, of 4, dies
DONE = FILES - 4  # acknowledged before the last group


class Crash(BaseException):
    """The process dying: nothing catches it, nothing after it runs."""


class CrashingStore(LocalObjectStore):
    """The local store, dying at the `nth` batch write of keys under `prefix`."""

    def __init__(self, root: Path, prefix: str, nth: int) -> None:
        super().__init__(root)
        self._prefix = prefix
        self._left = nth

    def put_many(self, objects: Sequence[NewObject]) -> list[ObjectInfo]:
        if objects and objects[0].key.startswith(self._prefix):
            self._left -= 1
            if self._left == 0:
                raise Crash
        return super().put_many(objects)


def _pictures(directory: Path, count: int) -> list[Path]:
    directory.mkdir()
    paths = []
    for n in range(count):
        path = directory / f"p{n:02d}.png"
        Image.new("RGB", (16, 16), (n * 9 % 256, 40, 200 - n)).save(path)
        paths.append(path)
    return paths


def _ingest_until_crash(data: Path, files: list[Path], prefix: str) -> list[Path]:
    """Ingest `files` with the last group dying at its write of `prefix` keys; the files
    acknowledged before."""
    assert [len(group) for group in groups(files)] == [2, 4, 8, GROUP, 4]
    store = CrashingStore(data / "store", prefix, nth=5)
    container = build(make_settings(data), store=store, use_embedder=False)
    acknowledged: list[Path] = []
    try:
        with pytest.raises(Crash):
            ingest_files(
                container.assets,
                "ws",
                files,
                on_progress=lambda path, *_: acknowledged.append(path),
            )
    finally:
        container.close()
    return acknowledged


def _resume(data: Path, files: list[Path]) -> tuple[int, int]:
    """The same ingest again, then the queue drained; (created, skipped)."""
    container = build(make_settings(data), use_embedder=False)
    try:
        container.index.ensure()
        report = ingest_files(container.assets, "ws", files, duplicates=PolicyName.LINK)
        assert report.failed == [] and report.rejected == []
        container.indexer.drain()
        assets = list(container.assets.manifests.iter_all())
        # Every file once, each whole: its manifest parses, its blob is there, it is ready.
        assert sorted(asset.name for asset in assets) == sorted(p.name for p in files)
        assert all(container.store.exists(layout.blob_key(a.sha256)) for a in assets)
        assert all(asset.status is AssetStatus.READY for asset in assets)
        assert container.queue.pending() == 0
        assert len(list(container.index.revisions())) == len(files)
        return len(report.created), len(report.skipped)
    finally:
        container.close()


@pytest.mark.parametrize(
    ("dies_at", "manifests", "queued", "resumed"),
    [
        # Before the group's manifests: markers are left (for `assetlens gc`), no asset;
        # the resume imports the group again.
        ("manifests/", DONE, DONE, (FILES - DONE, DONE)),
        # Between manifests and queue items: the assets exist, unacknowledged and
        # unqueued; the resume finds them by content and queues them again.
        ("queue/", FILES, DONE, (0, FILES)),
    ],
)
def test_a_crash_inside_a_group_loses_no_acknowledged_file(
    tmp_path: Path, dies_at: str, manifests: int, queued: int, resumed: tuple[int, int]
) -> None:
    files = _pictures(tmp_path / "in", FILES)
    data = tmp_path / "data"
    acknowledged = _ingest_until_crash(data, files, dies_at)
    assert acknowledged == files[:DONE]  # the first groups, none of the last
    store = LocalObjectStore(data / "store")
    assert len(list(store.list_keys("manifests/"))) == manifests
    assert len(list(store.list_keys(layout.QUEUE_PREFIX))) == queued
    assert len(list(store.list_keys(layout.blob_ref_prefix()))) == FILES
    assert _resume(data, files) == resumed


def test_copies_within_a_group_follow_the_policy(tmp_path: Path) -> None:
    original = _pictures(tmp_path / "in", 1)[0]
    copy = tmp_path / "in" / "copy.png"
    copy.write_bytes(original.read_bytes())
    container = build(make_settings(tmp_path / "data"), use_embedder=False)
    try:
        linked = ingest_files(container.assets, "ws", [original, copy], duplicates=PolicyName.LINK)
        assert [a.name for a in linked.created] == [original.name]
        assert linked.skipped == [(copy, linked.created[0].id)]
        rejected = ingest_files(
            container.assets, "other", [original, copy], duplicates=PolicyName.REJECT
        )
        assert rejected.rejected == [(copy, rejected.created[0].id)]
        allowed = ingest_files(
            container.assets, "third", [original, copy], duplicates=PolicyName.ALLOW
        )
        first, second = allowed.created
        assert (first.duplicate_of, second.duplicate_of) == (None, first.id)
    finally:
        container.close()


def test_a_blob_that_cannot_be_stored_refuses_only_its_file(tmp_path: Path) -> None:
    files = _pictures(tmp_path / "in", 3)
    store = FakeObjectStore()
    container = build(make_settings(tmp_path / "data"), store=store, use_embedder=False)
    doomed = hash_in_place(files[1]).sha256
    store.fail_keys_with_prefix = layout.blob_key(doomed)
    try:
        report = ingest_files(container.assets, "ws", files)
        assert [path for path, _ in report.failed] == [files[1]]
        assert sorted(a.name for a in report.created) == [files[0].name, files[2].name]
        # Nothing of the refused file is left: no marker, no manifest, no queue item.
        assert not any(doomed in key for key in store.list_keys(""))
        assert container.queue.pending() == 2
    finally:
        container.close()


def test_a_group_closes_early_at_its_byte_limit(tmp_path: Path) -> None:
    """A file as large as GROUP_BYTES is acknowledged on its own; a file that cannot be
    read counts nothing here (the import refuses it)."""
    small = [tmp_path / f"s{n}.png" for n in range(4)]
    for path in small:
        path.write_bytes(b"x")
    big = tmp_path / "big.png"
    with big.open("wb") as handle:  # sparse: no disk used
        handle.truncate(GROUP_BYTES)
    missing = tmp_path / "missing.png"
    files = [small[0], small[1], big, small[2], small[3], missing]
    assert list(groups(files)) == [[small[0], small[1]], [big], [small[2], small[3], missing]]
