"""A durable local outbox: files to upload, kept on disk until the server has them.

`Outbox.add` copies the file under the outbox directory (temp file, fsync, rename, fsync
of the directory) and then records the item — with the Idempotency-Key every attempt will
carry — in a SQLite database (WAL, synchronous=FULL). Once `add` returns, the item survives
a crash or a restart of the process; whoever opens the same directory next delivers it.

Delivery (`deliver_pending`, `flush`, or the background thread of `start`) takes one due
item at a time under a lease (so two processes on one outbox do not send the same item at
once), calls `send`, and records the outcome: delivered (the file is removed), retried
later with exponential back-off and jitter (any error), or a dead letter when `send`
raises `Rejected` (a request the server will never accept) or after `max_attempts`. Dead
letters keep their file for inspection. Because every attempt of an item carries the same
key, and the server honours it, a delivery repeated after a lost answer never makes a
second asset.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from assetlens.client.outbox_disk import (
    KEEP_DELIVERED_SECONDS,
    ORPHAN_SECONDS,
    connect,
    fsync_dir,
    lease_owner,
    old_files,
    owner_gone,
    status_of,
)
from assetlens.client.outbox_items import (
    DeliveryPolicy,
    ItemState,
    ItemStatus,
    OutboxItem,
    Rejected,
    RetryLater,
    Send,
)

__all__ = [
    "DeliveryPolicy",
    "ItemState",
    "ItemStatus",
    "Outbox",
    "OutboxItem",
    "Rejected",
    "RetryLater",
    "Send",
]

log = logging.getLogger(__name__)


class Outbox:
    """Durable, at-least-once delivery of uploads (exactly once on a server honouring
    Idempotency-Key). Thread-safe; several processes may share one directory."""

    def __init__(
        self, directory: str | os.PathLike[str], send: Send, policy: DeliveryPolicy | None = None
    ) -> None:
        self.directory = Path(directory)
        self._send = send
        self.policy = policy or DeliveryPolicy()
        self._files = self.directory / "files"
        self._tmp = self.directory / "tmp"
        # Outputs awaiting delivery are the user's data: readable by the owner only.
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._files.mkdir(mode=0o700, exist_ok=True)
        self._tmp.mkdir(mode=0o700, exist_ok=True)
        self._lock = threading.Lock()
        self._db = connect(self.directory / "outbox.sqlite3")
        self._wake = threading.Event()
        # After a failure worth retrying, no attempt (of any item) before this time.
        self._paused_until = 0.0
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._sweep()

    # -- adding -----------------------------------------------------------------------------

    def add(
        self,
        source: str | os.PathLike[str] | bytes | BinaryIO,
        filename: str,
        fields: Mapping[str, Any],
    ) -> str:
        """Store the file and its upload fields durably; the new item's id. Raises OSError
        or sqlite3.Error when the disk fails (nothing is then recorded)."""
        item_id = uuid.uuid4().hex
        temp = self._tmp / f"{item_id}.part"
        try:
            with os.fdopen(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
                if isinstance(source, bytes):
                    out.write(source)
                elif isinstance(source, str | os.PathLike):
                    with open(source, "rb") as src:
                        shutil.copyfileobj(src, out)
                else:
                    shutil.copyfileobj(source, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, self._file(item_id))
            fsync_dir(self._files)
        finally:
            with contextlib.suppress(OSError):
                temp.unlink()
        now = time.time()
        try:
            with self._lock:
                self._db.execute(
                    "INSERT INTO items (id, idempotency_key, filename, fields, state,"
                    " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        item_id,
                        str(uuid.uuid4()),
                        filename,
                        json.dumps(dict(fields)),
                        ItemState.PENDING.value,
                        now,
                        now,
                    ),
                )
        except BaseException:
            with contextlib.suppress(OSError):
                self._file(item_id).unlink()
            raise
        self._wake.set()
        return item_id

    # -- reading ----------------------------------------------------------------------------

    def status(self, item_id: str) -> ItemStatus | None:
        """Where an item stands; None for an unknown id (or a long-delivered one)."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, state, attempts, asset_id, last_error FROM items WHERE id = ?",
                (item_id,),
            ).fetchone()
        return None if row is None else status_of(row)

    def pending(self) -> int:
        """How many items still wait for delivery."""
        with self._lock:
            (count,) = self._db.execute(
                "SELECT COUNT(*) FROM items WHERE state = ?", (ItemState.PENDING.value,)
            ).fetchone()
        return int(count)

    def dead_letters(self) -> list[ItemStatus]:
        """Items the server refused for good (their files kept under `files/`)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, state, attempts, asset_id, last_error FROM items WHERE state = ?"
                " ORDER BY created_at",
                (ItemState.DEAD.value,),
            ).fetchall()
        return [status_of(row) for row in rows]

    # -- delivering -------------------------------------------------------------------------

    def deliver_pending(self) -> int:
        """Send every item due now, once each, in this thread; how many were delivered. A
        pass ends at the first failure that says the server is out (any but a RetryLater
        of one item alone), and none starts until that item's back-off is over (the
        server is likely down for the others too)."""
        delivered = 0
        while not self._stop.is_set() and time.time() >= self._paused_until:
            item = self._claim()
            if item is None:
                break
            if self._deliver(item) is ItemState.DELIVERED:
                delivered += 1
        return delivered

    def flush(self, timeout: float | None = None) -> bool:
        """Deliver until nothing is pending (True) or `timeout` seconds pass (False),
        waiting out each item's back-off; False at once once closed. Never raises."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._stop.is_set():
            try:
                self.deliver_pending()
                if self.pending() == 0:
                    return True
                wait = self._next_due() - time.time()
            except Exception:
                log.exception("the outbox could not deliver")
                wait = 1.0
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                wait = min(wait, left)
            time.sleep(min(max(wait, 0.01), 5.0))
        return False

    def start(self) -> None:
        """Deliver in a background (daemon) thread until `close`."""
        with self._lock:
            if self._worker is not None:
                return
            self._worker = threading.Thread(target=self._run, name="assetlens-outbox", daemon=True)
            self._worker.start()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the background thread (waiting up to `timeout` for an attempt in flight)
        and close the database. Pending items stay for the next opener."""
        self._stop.set()
        self._wake.set()
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
        with self._lock:
            self._db.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.deliver_pending()
                wait = self._next_due() - time.time()
            except Exception:
                log.exception("the outbox could not deliver")
                wait = 5.0
            self._wake.wait(min(max(wait, 0.01), 60.0))
            self._wake.clear()

    def _deliver(self, item: OutboxItem) -> ItemState:
        """One attempt at one claimed item; the state it is left in."""
        if not item.path.is_file():
            # Removed from under the outbox: no attempt can ever send it, and its failure
            # says nothing about the server (the others are not held back).
            log.warning("outbox item %s lost its file %s", item.id, item.path)
            self._finish(item, ItemState.DEAD, error="the item's file is no longer in the outbox")
            return ItemState.DEAD
        try:
            asset_id = self._send(item)
        except Rejected as exc:
            log.warning("outbox item %s refused by the server: %s", item.id, exc)
            self._finish(item, ItemState.DEAD, error=str(exc))
            return ItemState.DEAD
        except Exception as exc:
            attempts = item.attempts + 1
            if self.policy.max_attempts is not None and attempts >= self.policy.max_attempts:
                log.warning("outbox item %s gave up after %d attempts: %s", item.id, attempts, exc)
                self._finish(item, ItemState.DEAD, error=str(exc))
                return ItemState.DEAD
            retry_after = exc.retry_after if isinstance(exc, RetryLater) else None
            delay = self.policy.delay(attempts, retry_after)
            if not isinstance(exc, RetryLater) or exc.outage:
                # The server is likely down (or busy) for every item: hold the others back
                # for as long too, rather than trying each against it in turn.
                self._paused_until = time.time() + delay
            log.info(
                "outbox item %s not delivered (attempt %d), retrying in %.1fs: %s",
                item.id,
                attempts,
                delay,
                exc,
            )
            with self._lock:
                self._db.execute(
                    "UPDATE items SET attempts = ?, next_attempt_at = ?, lease_until = 0,"
                    " last_error = ? WHERE id = ?",
                    (attempts, time.time() + delay, str(exc)[:1000], item.id),
                )
            return ItemState.PENDING
        self._finish(item, ItemState.DELIVERED, asset_id=asset_id)
        with contextlib.suppress(OSError):
            item.path.unlink()
        return ItemState.DELIVERED

    def _claim(self) -> OutboxItem | None:
        now = time.time()
        with self._lock:
            row = self._db.execute(
                "UPDATE items SET lease_until = ?, lease_owner = ? WHERE id = (SELECT id"
                " FROM items WHERE state = ? AND next_attempt_at <= ? AND lease_until <= ?"
                " ORDER BY next_attempt_at, created_at LIMIT 1)"
                " RETURNING id, idempotency_key, filename, fields, attempts",
                (now + self.policy.lease, lease_owner(), ItemState.PENDING.value, now, now),
            ).fetchone()
        if row is None:
            return None
        item_id, key, filename, fields, attempts = row
        return OutboxItem(item_id, key, self._file(item_id), filename, json.loads(fields), attempts)

    def _finish(
        self,
        item: OutboxItem,
        state: ItemState,
        *,
        asset_id: str | None = None,
        error: str | None = None,
    ) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE items SET state = ?, attempts = attempts + 1, asset_id = ?,"
                " last_error = ?, finished_at = ?, lease_until = 0 WHERE id = ?",
                (
                    state.value,
                    asset_id,
                    None if error is None else error[:1000],
                    time.time(),
                    item.id,
                ),
            )

    def _next_due(self) -> float:
        """When the next delivery attempt may start (wall-clock seconds)."""
        with self._lock:
            (due,) = self._db.execute(
                "SELECT MIN(MAX(next_attempt_at, lease_until)) FROM items WHERE state = ?",
                (ItemState.PENDING.value,),
            ).fetchone()
        return max(float(due) if due is not None else time.time() + 60.0, self._paused_until)

    def _file(self, item_id: str) -> Path:
        return self._files / f"{item_id}.bin"

    def _sweep(self) -> None:
        """Release the leases of this machine's processes that are gone (killed while
        sending: their items need not wait the lease out), prune long-delivered rows and
        orphaned files (see ORPHAN_SECONDS)."""
        now = time.time()
        with self._lock:
            owners = [
                row[0]
                for row in self._db.execute(
                    "SELECT DISTINCT lease_owner FROM items WHERE state = ? AND lease_until > ?",
                    (ItemState.PENDING.value, now),
                )
            ]
            for owner in owners:
                if owner_gone(owner):
                    self._db.execute(
                        "UPDATE items SET lease_until = 0 WHERE lease_owner = ? AND state = ?",
                        (owner, ItemState.PENDING.value),
                    )
            self._db.execute(
                "DELETE FROM items WHERE state = ? AND finished_at < ?",
                (ItemState.DELIVERED.value, now - KEEP_DELIVERED_SECONDS),
            )
            known = {
                row[0]
                for row in self._db.execute(
                    "SELECT id FROM items WHERE state != ?", (ItemState.DELIVERED.value,)
                )
            }
        for path in old_files(self._tmp, now - ORPHAN_SECONDS):
            path.unlink(missing_ok=True)
        for path in old_files(self._files, now - ORPHAN_SECONDS):
            if path.stem not in known:
                path.unlink(missing_ok=True)
