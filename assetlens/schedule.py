"""Periodic jobs shared by several worker processes: one turn per interval, won by
compare-and-swap on a small schedule object in the store."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from assetlens.errors import ObjectNotFound, PreconditionFailed
from assetlens.ports import ObjectStore


def claim_turn(store: ObjectStore, key: str, interval_s: float,
               clock: Callable[[], float] = time.time) -> bool:
    """True for exactly one caller per `interval_s` across processes: the one whose
    compare-and-swap moves the schedule at `key` forward. A missing or unreadable schedule
    is due."""
    now = clock()
    body = json.dumps({"next_at": now + interval_s}).encode()
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
    except (ValueError, AttributeError, TypeError):
        next_at = 0.0
    if next_at > now:
        return False
    try:
        store.put_bytes(key, body, content_type="application/json", if_match=current.info.etag)
    except PreconditionFailed:
        return False
    return True
