"""The local store's batch writes sync each file and each directory that gains an entry,
their fsyncs issued together (storage/local_files.py, `put_many`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
