"""The local store's batch writes sync each file and each directory that gains an entry,
their fsyncs issued together (storage/local_files.py, `put_many`)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from assetlens.ports import NewObject
from storage.local import LocalObjectStore
from storage.local_files import fsync_all, gaining_entries


def test_the_directories_gaining_entries(tmp_path: Path) -> None:
    root = tmp_path / "objects"
    (root / "previews" / "ab" / "old").mkdir(parents=True)
    paths = [
        root / "previews" / "ab" / "old" / "p0.webp",  # an existing directory gains a file
        root / "previews" / "ab" / "new" / "p0.webp",  # a new one inside an existing one
        root / "previews" / "ab" / "new" / "p1.webp",
        root / "markers" / "x" / "y" / "m",  # a new chain from the root
    ]
    assert gaining_entries(paths, root) == sorted([
        root / "previews" / "ab" / "old",
        root / "previews" / "ab" / "new",
        root / "previews" / "ab",
        root / "markers" / "x" / "y",
        root / "markers" / "x",
        root / "markers",
        root,
    ])  # fmt: skip


def test_fsync_all_syncs_every_fd_and_reports_a_failure(tmp_path: Path) -> None:
    fds = [os.open(tmp_path / f"f{i}", os.O_CREAT | os.O_WRONLY, 0o644) for i in range(8)]
    try:
        fsync_all(fds)
        fsync_all([])
        closed = fds.pop()
        os.close(closed)
        with pytest.raises(OSError):
            fsync_all([*fds, closed])
    finally:
        for fd in fds:
            os.close(fd)


def test_a_batch_stamps_new_keys_before_their_sync_and_stamps_again_over_a_newer_version(
    tmp_path: Path,
) -> None:
    """`put_many` stamps each staged file before its one data fsync; a key whose current
    version carries a later mtime (a clock stepped back, a coarse filesystem) is stamped
    again above it under its lock, so its ETag never comes back."""
    store = LocalObjectStore(tmp_path)
    store.put_bytes("k/old", b"v1")
    future = time.time_ns() + 3_600 * 10**9
    os.utime(tmp_path / "objects" / "k" / "old", ns=(future, future))
    before_etag = store.stat("k/old").etag
    started = time.time_ns()

    infos = store.put_many([NewObject("k/old", b"v2"), NewObject("k/new", b"n")])

    old_mtime = os.stat(tmp_path / "objects" / "k" / "old").st_mtime_ns
    new_mtime = os.stat(tmp_path / "objects" / "k" / "new").st_mtime_ns
    assert old_mtime > future
    assert started <= new_mtime <= time.time_ns()
    assert infos[0].etag != before_etag
    assert [info.etag for info in infos] == [store.stat("k/old").etag, store.stat("k/new").etag]
    assert store.get_bytes("k/old").data == b"v2"
