"""The outbox's on-disk format: its SQLite schema and connection, lease owners, and the
durable-file helpers (assetlens.client.outbox)."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assetlens.client.outbox_items import ItemState, ItemStatus

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL,
    filename TEXT NOT NULL,
    fields TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    lease_until REAL NOT NULL DEFAULT 0,
    lease_owner TEXT,
    asset_id TEXT,
    last_error TEXT,
    created_at REAL NOT NULL,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS items_due ON items (state, next_attempt_at);
"""
# Delivered items' rows are kept this long (for `status`), then pruned when an outbox opens.
KEEP_DELIVERED_SECONDS = 7 * 24 * 3600
# Files in the outbox without a row, older than this, were left by a process killed
# between writing the file and recording it: removed when an outbox opens.
ORPHAN_SECONDS = 3600


def connect(path: Path) -> sqlite3.Connection:
    """The outbox database at `path`, opened (WAL, synchronous=FULL) with its schema."""
    db = sqlite3.connect(
        path,
        timeout=30,
        isolation_level=None,
        check_same_thread=False,
    )
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(SCHEMA)
    return db


def lease_owner() -> str:
    """Who holds a lease: this machine and process. Another process on the same machine
    that finds the holder gone releases its leases; elsewhere they run out."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_gone(owner: str | None) -> bool:
    host, _, pid = (owner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # it exists (another user's): not ours to judge
    return False


def status_of(row: tuple[Any, ...]) -> ItemStatus:
    item_id, state, attempts, asset_id, last_error = row
    return ItemStatus(item_id, ItemState(state), attempts, asset_id, last_error)


def old_files(folder: Path, cutoff: float) -> Iterator[Path]:
    for path in folder.iterdir():
        with contextlib.suppress(OSError):
            if path.is_file() and path.stat().st_mtime < cutoff:
                yield path


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (POSIX; a no-op where directories cannot be
    opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
