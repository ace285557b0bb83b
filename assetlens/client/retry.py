"""When the client retries a request, and how long it waits in between."""

from __future__ import annotations

import random
from dataclasses import dataclass

# Statuses that say "not now" rather than "never": the request may succeed when repeated.
RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential back-off with full jitter, honouring Retry-After.

    `attempts` counts the first try; `base` is the first delay's ceiling, doubling per
    attempt up to `cap` seconds. Only requests safe to repeat are retried: reads, searches
    and uploads that carry an Idempotency-Key.
    """

    attempts: int = 5
    base: float = 0.5
    cap: float = 30.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        ceiling = min(self.cap, self.base * 2 ** max(attempt - 1, 0))
        wait = random.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.cap))
        return wait

    def gives_up(self, attempt: int) -> bool:
        return attempt >= self.attempts


NO_RETRY = RetryPolicy(attempts=1)
