"""Process entry points for the multi-process tests (spawned, so importable and small)."""

from __future__ import annotations

import io
import os
import resource
import signal
from pathlib import Path

from assetlens.errors import PreconditionFailed, StoreUnavailable
from storage.local import LocalObjectStore


def increment(root: str, key: str, times: int) -> int:
    """Add one to the counter at `key` `times` times by compare-and-swap; returns conflicts."""
    store = LocalObjectStore(Path(root))
    conflicts = 0
    for _ in range(times):
        while True:
            current = store.get_bytes(key)
            try:
                store.put_bytes(key, b"%d" % (int(current.data) + 1), if_match=current.info.etag)
                break
            except PreconditionFailed:
                conflicts += 1
    return conflicts


class _DiesMidway(io.RawIOBase):
    """A source that kills its process, as a power cut would, after `limit` bytes."""

    def __init__(self, limit: int) -> None:
        self._left = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._left <= 0:
            os._exit(3)
        n = min(len(buffer), self._left)
        buffer[:n] = b"p" * n
        self._left -= n
        return n


def crash_mid_write(root: str, key: str, after: int) -> None:
    """Start a streamed write of `key` and die without cleanup after `after` bytes."""
    LocalObjectStore(Path(root)).put_stream(key, _DiesMidway(after))  # type: ignore[arg-type]


def write_over_file_size_limit(root: str, key: str, limit: int, size: int) -> str:
    """Write `size` bytes with RLIMIT_FSIZE at `limit` (a stand-in for a full disk);
    returns the StoreUnavailable detail, or "" when the write unexpectedly succeeded."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        LocalObjectStore(Path(root)).put_stream(key, io.BytesIO(b"f" * size), size=size)
    except StoreUnavailable as exc:
        return exc.detail
    return ""


def churn(root: str, key: str, rounds: int) -> int:
    """Create and delete `key` `rounds` times; returns how many rounds succeeded."""
    store = LocalObjectStore(Path(root))
    for _ in range(rounds):
        store.put_bytes(key, b"c")
        store.delete(key)
    return rounds
