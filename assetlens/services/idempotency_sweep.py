"""The scheduled sweep of expired idempotency records (mixed into IdempotencyService)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from assetlens import layout
from assetlens.errors import ObjectNotFound, PreconditionFailed
from assetlens.ports import ObjectStore
from assetlens.schedule import claim_turn
from assetlens.services.idempotency_records import IdempotencyRecord, read_record

log = logging.getLogger(__name__)


class IdempotencySweep:
    """The sweep half of IdempotencyService; the attributes below are set by its
    constructor."""

    _clock: Callable[[], datetime]
    _store: ObjectStore
    _ttl: timedelta
    _claim: timedelta
    _sweep_interval: float

    def sweep_if_due(self) -> int | None:
        """The scheduled sweep of expired records (one worker per interval wins it); how
        many were removed, None when it was not this worker's turn."""
        if not claim_turn(
            self._store, layout.IDEMPOTENCY_SWEEP_SCHEDULE_KEY, self._sweep_interval, time.time()
        ):
            return None
        removed = self.sweep_expired()
        if removed:
            log.info("removed %d expired idempotency records", removed)
        return removed

    def sweep_expired(self) -> int:
        """Remove the records past their time (each by compare-and-swap, so a record just
        renewed by a request stays); how many were removed. A claim still within its
        claim time stays even when old: its request may yet finish."""
        now = self._clock()
        removed = 0
        for record_key in self._store.list_keys(layout.IDEMPOTENCY_PREFIX):
            found = read_record(self._store, record_key)
            if found is None:
                continue
            record, etag = found
            running = record.asset_id is None and now - record.claimed_at < self._claim
            if running or not self._expired(record, now):
                continue
            try:
                self._store.delete(record_key, if_match=etag)
                removed += 1
            except (PreconditionFailed, ObjectNotFound):
                continue
        return removed

    def _expired(self, record: IdempotencyRecord, now: datetime) -> bool:
        return now - record.created_at >= self._ttl
