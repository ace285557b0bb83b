"""Recording usage events without slowing requests, and folding them into per-workspace
counters.

`record` only appends to an in-memory buffer (it never raises and never touches the store).
A background thread flushes the buffer every few seconds into append-only batch objects,
one per workspace and day, written create_only under a fresh name; `close` flushes what is
left. Delivery is at-least-once for counters; what a process buffered in its last seconds
before a crash (kill -9, power loss) is lost, and so is the overflow while the store is
down for long (the buffer is bounded, and the drops are logged).

`fold` turns a workspace's batches into its summary document (compare-and-swap), then
deletes them. The indexer runs `fold_if_due` on a shared schedule (one worker per
interval); `summary` flushes and folds on demand, so stats are current to the request.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime

from assetlens import layout
from assetlens.documents import put_document
from assetlens.errors import AssetlensError, ObjectNotFound, PreconditionFailed
from assetlens.ports import ObjectStore
from assetlens.schedule import claim_turn
from assetlens.usage import (
    Channel,
    StoredEvent,
    UsageBatch,
    UsageEvent,
    UsageKind,
    UsageSummary,
)

log = logging.getLogger(__name__)

# Batches folded per summary write: bounds one fold's memory and its CAS document.
FOLD_BATCHES = 500


class UsageService:
    """Usage events in, usage summaries out. Thread-safe."""

    def __init__(
        self,
        store: ObjectStore,
        *,
        flush_seconds: float = 5.0,
        fold_interval_seconds: float = 300.0,
        max_buffered: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._flush_seconds = flush_seconds
        self._fold_interval = fold_interval_seconds
        self._max_buffered = max_buffered
        self._clock = clock
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()  # one flush at a time (thread, close, summary)
        self._buffer: list[UsageEvent] = []
        self._dropped = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- recording ------------------------------------------------------------------------

    def record(self, workspace: str, asset_id: str, kind: UsageKind, channel: Channel) -> None:
        """Count one use of an asset's content. Costs an append; never raises."""
        try:
            event = UsageEvent(
                workspace, asset_id, UsageKind(kind), Channel(channel), self._clock()
            )
            with self._lock:
                if len(self._buffer) >= self._max_buffered:
                    self._dropped += 1
                    return
                self._buffer.append(event)
                start = self._thread is None and not self._stop.is_set()
                if start:
                    self._thread = threading.Thread(
                        target=self._run, name="assetlens-usage", daemon=True
                    )
            if start and self._thread is not None:
                self._thread.start()
        except Exception:  # a counter must never fail the request it counts
            log.exception("usage event not recorded")

    def pending(self) -> int:
        """Events buffered and not yet flushed."""
        with self._lock:
            return len(self._buffer)

    def _run(self) -> None:
        while not self._stop.wait(self._flush_seconds):
            self.flush()

    def flush(self) -> int:
        """Write the buffered events as batch objects; returns how many were written. On a
        store failure the unwritten events go back to the buffer (within its bound)."""
        with self._flush_lock:
            with self._lock:
                events, self._buffer = self._buffer, []
                dropped, self._dropped = self._dropped, 0
            if dropped:
                log.warning(
                    "usage: %d events dropped (buffer full while the store was down)", dropped
                )
            groups: dict[tuple[str, str], list[UsageEvent]] = defaultdict(list)
            for event in events:
                groups[(event.workspace, event.day)].append(event)
            pending = list(groups.items())
            for done, ((workspace, day), group) in enumerate(pending):
                try:
                    self._write_batch(workspace, day, group)
                except AssetlensError as exc:
                    unwritten = [e for _, rest in pending[done:] for e in rest]
                    self._requeue(unwritten)
                    log.warning("usage: %d events not flushed yet: %s", len(unwritten), exc.detail)
                    return sum(len(g) for _, g in pending[:done])
            return len(events)

    def _write_batch(self, workspace: str, day: str, events: list[UsageEvent]) -> None:
        batch = UsageBatch(events=[
            StoredEvent(asset_id=e.asset_id, kind=e.kind, channel=e.channel, at=e.at)
            for e in events
        ])  # fmt: skip
        key = layout.usage_batch_key(workspace, day, uuid.uuid4().hex)
        self._store.put_bytes(
            key, batch.model_dump_json().encode(), content_type="application/json", create_only=True
        )

    def _requeue(self, events: list[UsageEvent]) -> None:
        with self._lock:
            room = max(self._max_buffered - len(self._buffer), 0)
            self._dropped += max(len(events) - room, 0)
            self._buffer[:0] = events[:room]

    def close(self) -> None:
        """Stop the flusher and flush what is buffered (best effort: a store outage now
        loses those events, and says so in the log)."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=30)
        self.flush()
        if self.pending():
            log.warning("usage: %d events lost at shutdown (store unavailable)", self.pending())

    # -- folding --------------------------------------------------------------------------

    def summary(self, workspace: str) -> UsageSummary:
        """The workspace's counters including every event recorded so far by this process
        and flushed by the others."""
        self.flush()
        return self.fold(workspace)

    def read_summary(self, workspace: str) -> tuple[UsageSummary, str | None]:
        """The stored summary and its ETag (an empty one and None before the first fold)."""
        try:
            stored = self._store.get_bytes(layout.usage_summary_key(workspace))
        except ObjectNotFound:
            return UsageSummary(), None
        return UsageSummary.model_validate_json(stored.data), stored.info.etag

    def fold(self, workspace: str) -> UsageSummary:
        """Count the workspace's batches into its summary (CAS, retried on a lost race), then
        delete them. Safe to run in several processes at once: a batch is counted once (a
        batch named in `folded` is only deleted), and a process that dies between the
        summary's write and the deletions leaves batches the next fold deletes."""
        keys = list(self._store.list_keys(layout.usage_batch_prefix(workspace)))
        while True:
            summary, etag = self.read_summary(workspace)
            counted = set(summary.folded)
            new = [k for k in keys if k not in counted][:FOLD_BATCHES]
            stale = [k for k in keys if k in counted]
            if not new:
                self._delete(stale)
                return summary
            for key in new:
                batch = self._read_batch(key)
                if batch is not None:
                    summary.add(batch)
            summary.folded = sorted({*new, *stale})
            summary.updated_at = datetime.fromtimestamp(self._clock(), UTC)
            data = summary.model_dump_json().encode()
            key = layout.usage_summary_key(workspace)
            try:
                put_document(self._store, key, data, etag)
            except PreconditionFailed:
                keys = list(self._store.list_keys(layout.usage_batch_prefix(workspace)))
                continue
            self._delete([*new, *stale])
            keys = [k for k in keys if k not in counted and k not in new]
            if not keys:
                return summary

    def _read_batch(self, key: str) -> UsageBatch | None:
        try:
            batch = UsageBatch.parse(self._store.get_bytes(key).data)
        except ObjectNotFound:
            return None  # folded and deleted by another worker since the listing
        if batch is None:
            log.warning("usage: skipping %s: not a usage batch", key)
        return batch

    def _delete(self, keys: list[str]) -> None:
        for key in keys:
            self._store.delete(key)

    def fold_all(self) -> int:
        """Fold every workspace that has batches; returns how many workspaces."""
        workspaces = {
            ws
            for key in self._store.list_keys(layout.USAGE_PREFIX)
            if (ws := layout.parse_usage_batch_key(key)) is not None
        }
        for workspace in sorted(workspaces):
            self.fold(workspace)
        return len(workspaces)

    def fold_if_due(self) -> int | None:
        """Fold everything when the shared schedule gives this worker the turn."""
        if not claim_turn(
            self._store, layout.USAGE_FOLD_SCHEDULE_KEY, self._fold_interval, self._clock()
        ):
            return None
        self.flush()
        return self.fold_all()
