"""Conditional writes on the local store: one lock per key across threads and processes,
ETags that never come back for a key, and the atomic publish of a staged file."""

from __future__ import annotations

import fcntl
import os
import random
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from assetlens.errors import InvalidInput, PreconditionFailed, StoreUnavailable
from assetlens.ports import ObjectInfo
from storage.local_files import Staged, current_file, fsync_dir, make_dirs

LOCK_STRIPES = 64
# A writer and a pruning delete of a neighbour key can collide again and again when two
# processes run in lockstep; many attempts with a growing random pause break the rhythm.
COMMIT_ATTEMPTS = 50
# FAT-like filesystems keep 2 s timestamps; stepping by that much keeps stamps increasing.
COARSE_STEP_NS = 2_000_000_000


def etag_of(st: os.stat_result) -> str:
    """ETag from inode, mtime and size: free to compute on `stat`, no hashing.

    Every write is a fresh temp file renamed over the key, so the inode changes; an inode
    freed by an older version can be reused, which is why the commit (under the key's lock)
    also stamps mtime strictly above the version it replaces: an ETag can never come back
    for the same key, so a stale If-Match cannot pass (no ABA) even for equal-size writes.
    """
    return f"{st.st_ino:x}-{st.st_mtime_ns:x}-{st.st_size:x}"


def info_of(key: str, st: os.stat_result) -> ObjectInfo:
    modified = datetime.fromtimestamp(st.st_mtime_ns / 1e9, tz=UTC)
    return ObjectInfo(key=key, size=st.st_size, etag=etag_of(st), modified=modified)


@contextmanager
def key_lock(locks: Path, key: str) -> Iterator[None]:
    """Exclusive per-key lock across threads and processes: an `flock` on one of 64
    striped files. Opened per call: a shared descriptor would not exclude threads or
    forked children, since flock belongs to the open file description."""
    make_dirs(locks)
    stripe = zlib.crc32(key.encode("ascii")) % LOCK_STRIPES
    fd = os.open(locks / f"{stripe:02d}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def prestamp(fd: int) -> int:
    """Stamp a staged file with the time now, before its data is synced (the same fsync
    then makes the stamp durable); `commit(prestamped=True)` keeps it unless the key's
    current version is not older. Returns the stamp."""
    now = time.time_ns()
    os.utime(fd, ns=(now, now))
    return os.fstat(fd).st_mtime_ns


def commit(
    objects: Path,
    locks: Path,
    key: str,
    final: Path,
    staged: Staged,
    *,
    if_match: str | None,
    create_only: bool,
    durable: bool = True,
    prestamped: bool = False,
) -> ObjectInfo:
    """Under the key's lock: check preconditions, stamp, fsync, publish atomically onto
    `final` (the key's path under `objects`). `durable=False` leaves out every fsync (of
    the file, of new directories, of the directory gaining the key): for a batch whose
    caller synced the staged data before and syncs those directories (and the files
    stamped again here) after. `prestamped`: the file carries a `prestamp`, kept when it is
    above the current version's mtime (always for a new key)."""
    make_dirs(objects)
    with key_lock(locks, key):
        current = current_file(final)
        if create_only and current is not None:
            raise PreconditionFailed(f"object {key!r} already exists")
        if if_match is not None and (current is None or etag_of(current) != if_match):
            raise PreconditionFailed(f"object {key!r} does not have ETag {if_match!r}")
        if current is None:
            _clear_empty_dir(key, final)
        stamped = os.fstat(staged.fd) if prestamped else None
        if stamped is None or (current is not None and stamped.st_mtime_ns <= current.st_mtime_ns):
            _stamp(staged.fd, current, sync=durable)
        _publish(key, staged, final, create_only=create_only, sync=durable)
        if durable:
            fsync_dir(final.parent)
        return info_of(key, os.fstat(staged.fd))


def _stamp(fd: int, current: os.stat_result | None, *, sync: bool) -> None:
    """Set mtime strictly above the replaced version's (see `etag_of`), then fsync."""
    floor = current.st_mtime_ns + 1 if current is not None else 0
    target = max(time.time_ns(), floor)
    os.utime(fd, ns=(target, target))
    if current is not None and os.fstat(fd).st_mtime_ns <= current.st_mtime_ns:
        target = current.st_mtime_ns + COARSE_STEP_NS
        os.utime(fd, ns=(target, target))
    if sync:
        os.fsync(fd)


def _publish(key: str, staged: Staged, final: Path, *, create_only: bool, sync: bool) -> None:
    for attempt in range(COMMIT_ATTEMPTS):
        if attempt > 1:
            time.sleep(random.uniform(0, 0.0005 * attempt))
        try:
            _make_key_dirs(key, final.parent, sync=sync)
            if create_only:
                # link, unlike rename, never replaces: an object that appeared anyway
                # (a writer not using the lock) is kept, and this write fails.
                os.link(staged.path, final)
            else:
                os.replace(staged.path, final)
                staged.consumed = True
            return
        except FileNotFoundError:
            continue  # a concurrent delete pruned the now-empty parent; recreate it
        except FileExistsError:
            if final.is_dir():
                raise _conflict(key) from None
            raise PreconditionFailed(f"object {key!r} already exists") from None
        except (IsADirectoryError, NotADirectoryError):
            raise _conflict(key) from None
    raise StoreUnavailable(
        f"local object store could not write {key!r}: its directory or temp file kept vanishing"
    )


def _make_key_dirs(key: str, directory: Path, *, sync: bool) -> None:
    try:
        make_dirs(directory, sync=sync)
    except (FileExistsError, NotADirectoryError):
        raise _conflict(key) from None


def _clear_empty_dir(key: str, final: Path) -> None:
    """An empty directory at the key (left by a crash mid-prune) is removed; a
    non-empty one means other keys live under it."""
    if final.is_dir():
        try:
            os.rmdir(final)
        except OSError:
            raise _conflict(key) from None


def _conflict(key: str) -> InvalidInput:
    return InvalidInput(
        f"object key {key!r} collides with another key's path: the local store cannot "
        "hold both 'a' and 'a/…'"
    )
