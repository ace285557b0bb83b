"""A durable work queue built on the object store's conditional writes.

One object per asset (`queue/index/<workspace>/<id>.json`), so repeated changes to an
asset coalesce into one pending item. Claiming is a compare-and-swap of a lease; an item
is deleted only by the holder of the current lease and only if nobody re-enqueued it
meanwhile. A killed worker's lease expires and the item is claimed again: at-least-once.
Works unchanged on the local store and on S3.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from assetlens import layout
from assetlens.errors import ObjectNotFound, PreconditionFailed
from assetlens.ports import NewObject, ObjectStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WorkItem:
    workspace: str
    asset_id: str
    key: str
    etag: str
    token: str
    lease_id: str
    attempts: int  # claims so far, this one included


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    """The queue at one moment: how many items wait, and for how long the oldest has."""

    depth: int
    oldest_age_seconds: float


class WorkQueue:
    def __init__(
        self,
        store: ObjectStore,
        *,
        lease_seconds: float = 120.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._lease = lease_seconds
        self._clock = clock

    def enqueue(self, workspace: str, asset_id: str) -> None:
        """Ask for (re)indexing of an asset. A fresh token makes a concurrent ack keep it."""
        key = layout.queue_key(workspace, asset_id)
        while True:
            body = _fresh(workspace, asset_id, self._clock())
            try:
                current = self._store.get_bytes(key)
            except ObjectNotFound:
                try:
                    self._store.put_bytes(key, _dump(body), create_only=True)
                    return
                except PreconditionFailed:
                    continue
            state = _read_state(current.data)
            if state is None:
                # Nothing to keep from it: replaced, by CAS like any change, by a fresh item.
                log.warning("queue item %s is unreadable; enqueued afresh", key)
                state = {}
            # Keep a running lease: the holder must not lose it, only learn it is stale.
            body["lease_until"] = state.get("lease_until", 0.0)
            body["lease_id"] = state.get("lease_id", "")
            # Coalesced changes have waited since the first of them.
            body["enqueued_at"] = state.get("enqueued_at", body["enqueued_at"])
            try:
                self._store.put_bytes(key, _dump(body), if_match=current.info.etag)
                return
            except PreconditionFailed:
                continue

    def enqueue_new(self, assets: Sequence[tuple[str, str]]) -> None:
        """Enqueue (workspace, asset_id) pairs of assets just created, in one batch write
        (`put_many`: syncs issued together on the local store). Unconditional: no item can
        exist yet for a fresh id, except one that a reconcile or an edit made once the
        manifest was visible; it is replaced by an equally fresh one (at worst indexed
        twice)."""
        now = self._clock()
        self._store.put_many(
            [
                NewObject(
                    layout.queue_key(workspace, asset_id),
                    _dump(_fresh(workspace, asset_id, now)),
                    "application/json",
                )
                for workspace, asset_id in assets
            ]
        )

    def claim(self, limit: int) -> list[WorkItem]:
        """Lease up to `limit` items that are due and not leased by a live worker."""
        now = self._clock()
        claimed: list[WorkItem] = []
        for key in self._store.list_keys(layout.QUEUE_PREFIX):
            if len(claimed) >= limit:
                break
            try:
                current = self._store.get_bytes(key)
            except ObjectNotFound:
                continue
            state = _read_state(current.data)
            if state is None:
                # A torn or foreign object must neither stop every pass here nor lose the
                # asset: it becomes a fresh item (by CAS, below) and is claimed like one.
                named = layout.queue_item(key)
                if named is None:
                    log.warning("queue key %s names no asset; skipped", key)
                    continue
                log.warning("queue item %s is unreadable; claimed as a fresh enqueue", key)
                state = _fresh(*named, now)
            if state.get("lease_until", 0.0) > now or state.get("not_before", 0.0) > now:
                continue
            state["lease_until"] = now + self._lease
            state["lease_id"] = secrets.token_hex(8)
            # Counted at claim, so a worker that dies on an item (OOM, a decoder crash)
            # uses up an attempt too; a fresh enqueue starts the count again.
            state["attempts"] = int(state.get("attempts", 0)) + 1
            try:
                info = self._store.put_bytes(key, _dump(state), if_match=current.info.etag)
            except (PreconditionFailed, ObjectNotFound):
                continue  # another worker won it
            claimed.append(
                WorkItem(
                    state["workspace"],
                    state["asset_id"],
                    key,
                    info.etag,
                    state["token"],
                    state["lease_id"],
                    int(state.get("attempts", 0)),
                )
            )
        return claimed

    def ack(self, item: WorkItem) -> bool:
        """Done. If the asset was re-enqueued while we worked, release it for another pass.
        True when the item was deleted: on a store whose conditional delete is a check
        before the delete (MinIO), an enqueue landing in between went with it, and only the
        caller can tell whether it should be enqueued again (`Indexer` does)."""
        try:
            self._store.delete(item.key, if_match=item.etag)
        except PreconditionFailed:
            self._release(item, delay=0.0)
        except ObjectNotFound:
            pass
        else:
            return True
        return False

    def retry(self, item: WorkItem, delay: float, *, refund: bool = False) -> None:
        """Failed for now: make the item due again after `delay` seconds. With `refund`
        (a backend outage, no fault of the item's) this claim doesn't count as an attempt."""
        self._release(item, delay=delay, refund=refund)

    def attempts(self, workspace: str, asset_id: str) -> tuple[int, float] | None:
        """(attempts so far, when it is due next) of a pending item; None if none is."""
        try:
            data = self._store.get_bytes(layout.queue_key(workspace, asset_id)).data
        except ObjectNotFound:
            return None
        # An unreadable item is claimed as a fresh enqueue: no attempts yet, due now.
        state = _read_state(data) or {}
        return int(state.get("attempts", 0)), float(state.get("not_before", 0.0))

    def _release(self, item: WorkItem, delay: float, refund: bool = False) -> None:
        while True:
            try:
                current = self._store.get_bytes(item.key)
            except ObjectNotFound:
                return
            state = _read_state(current.data) or {}
            if state.get("lease_id") != item.lease_id:
                return  # our lease expired and another worker holds the item now
            state["lease_until"] = 0.0
            state["lease_id"] = ""
            state["not_before"] = self._clock() + delay
            if refund:
                state["attempts"] = max(int(state.get("attempts", 0)) - 1, 0)
            try:
                self._store.put_bytes(item.key, _dump(state), if_match=current.info.etag)
                return
            except PreconditionFailed:
                continue

    def pending(self) -> int:
        return sum(1 for _ in self._store.list_keys(layout.QUEUE_PREFIX))

    def snapshot(self, sample: int = 1000) -> QueueSnapshot:
        """Depth (every key listed) and the oldest age among the first `sample` items
        read: bounded work for a scrape, exact while the queue is small."""
        now = self._clock()
        depth = 0
        oldest = now
        for key in self._store.list_keys(layout.QUEUE_PREFIX):
            depth += 1
            if depth > sample:
                continue
            try:
                state = _read_state(self._store.get_bytes(key).data) or {}
            except ObjectNotFound:
                continue  # acked since the listing
            oldest = min(oldest, float(state.get("enqueued_at", now)))
        return QueueSnapshot(depth, max(0.0, now - oldest))


def backoff_delay(attempts: int, base: float, cap: float) -> float:
    """Seconds to wait after the `attempts`-th failed attempt: doubling from `base`, at most
    `cap`."""
    return float(min(base * 2 ** min(max(attempts - 1, 0), 62), cap))


def _fresh(workspace: str, asset_id: str, now: float) -> dict[str, Any]:
    """A newly enqueued item: due now, no lease, no attempts; its token tells a concurrent
    ack that it came after the claim."""
    return {
        "workspace": workspace,
        "asset_id": asset_id,
        "token": secrets.token_hex(8),
        "lease_until": 0.0,
        "not_before": 0.0,
        "attempts": 0,
        "enqueued_at": now,
    }


_TEXT_FIELDS = ("workspace", "asset_id", "token")
_NUMBER_FIELDS = ("lease_until", "not_before", "attempts", "enqueued_at")


def _read_state(data: bytes) -> dict[str, Any] | None:
    """A queue item's state; None when the object is not one this queue wrote (not JSON,
    not an object, a field missing or of the wrong type): a torn write or a stray file."""
    try:
        state = json.loads(data)
    except ValueError:  # UnicodeDecodeError included
        return None
    if (
        not isinstance(state, dict)
        or not all(isinstance(state.get(name), str) for name in _TEXT_FIELDS)
        or not all(_is_number(state.get(name, 0)) for name in _NUMBER_FIELDS)
        or not isinstance(state.get("lease_id", ""), str)
    ):
        return None
    return state


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _dump(state: dict[str, object]) -> bytes:
    return json.dumps(state, separators=(",", ":")).encode()
