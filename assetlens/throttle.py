"""In-process limits: a token-bucket rate limit per API key and a cap on concurrent
uploads per workspace.

The state lives in this process: several API processes each enforce their own limits
(documented in docs/OPERATIONS.md). Both classes are thread-safe and take a clock, so unit
tests drive time by hand.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from assetlens.errors import TooManyRequests


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """A token bucket per key: `rate` tokens a second, at most `burst` saved up. A rate of
    0 turns the limit off."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = rate
        self._burst = max(1, burst)
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._rate > 0

    @property
    def keys_tracked(self) -> int:
        """How many keys have a bucket in memory (bounded by `max_keys`)."""
        return len(self._buckets)

    def admit(self, key: str) -> None:
        """Take a token for `key`, or raise TooManyRequests with the wait until the next."""
        if not self.enabled:
            return
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self._max_keys:
                    self._forget_full(now)
                bucket = self._buckets[key] = _Bucket(float(self._burst), now)
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.stamp) * self._rate)
            bucket.stamp = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = (1.0 - bucket.tokens) / self._rate
        raise TooManyRequests(
            f"rate limit of {self._rate:g} requests/s per API key exceeded; retry later",
            retry_after=math.ceil(wait),
        )

    def _forget_full(self, now: float) -> None:
        # Buckets that have refilled carry no state worth keeping: drop them (memory bound).
        full = [
            k
            for k, b in self._buckets.items()
            if b.tokens + (now - b.stamp) * self._rate >= self._burst
        ]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= self._max_keys:
            self._buckets.clear()


class ConcurrencyLimiter:
    """At most `limit` holders of a slot per workspace at once; the excess is refused at
    once (429), never queued, so a slow client cannot pile up spooled uploads. A limit
    of 0 turns it off."""

    def __init__(self, limit: int, *, retry_after: int = 1) -> None:
        self._limit = limit
        self._retry_after = retry_after
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()

    def in_use(self, workspace: str) -> int:
        with self._lock:
            return self._held.get(workspace, 0)

    @contextmanager
    def slot(self, workspace: str) -> Iterator[None]:
        """Hold one of the workspace's slots for the block; TooManyRequests if none is free."""
        if self._limit <= 0:
            yield
            return
        with self._lock:
            held = self._held.get(workspace, 0)
            if held >= self._limit:
                raise TooManyRequests(
                    f"at most {self._limit} uploads may run at once in a workspace; "
                    "retry when one has finished",
                    retry_after=self._retry_after,
                )
            self._held[workspace] = held + 1
        try:
            yield
        finally:
            with self._lock:
                left = self._held[workspace] - 1
                if left:
                    self._held[workspace] = left
                else:
                    del self._held[workspace]
