"""Shared schedules: one worker per interval wins a periodic job, by compare-and-swap."""

from __future__ import annotations

import json

from assetlens.errors import ObjectNotFound, PreconditionFailed
from assetlens.ports import ObjectStore


def claim_turn(store: ObjectStore, key: str, interval_seconds: float, now: float) -> bool:
    """Whether this caller won the job's turn: the schedule object at `key` says it is due
    and our compare-and-swap moved its `next_at` one interval ahead. N workers calling
    this together → exactly one True per interval."""
    body = json.dumps({"next_at": now + interval_seconds}).encode()
    try:
        current = store.get_bytes(key)
    except ObjectNotFound:
        try:
            store.put_bytes(key, body, content_type="application/json", create_only=True)
        except PreconditionFailed:
            return False
        return True
    try:
        next_at = float(json.loads(current.data).get("next_at", 0))
    except (ValueError, AttributeError):
        next_at = 0.0  # an unreadable schedule is due (and rewritten)
    if next_at > now:
        return False
    try:
        store.put_bytes(key, body, content_type="application/json", if_match=current.info.etag)
    except PreconditionFailed:
        return False
    return True
