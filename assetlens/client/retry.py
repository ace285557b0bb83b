"""When the client retries a request, and how long it waits in between."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

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


def worth_repeating(response: httpx.Response, request_headers: Mapping[str, str]) -> bool:
    """Whether an answer says "not now" to a request that is safe to repeat: 429, 502,
    503, 504 — and 409 with Retry-After to a request with an Idempotency-Key (another
    attempt with the same key is still running on the server)."""
    if response.status_code in RETRY_STATUSES:
        return True
    return (response.status_code == 409 and "Idempotency-Key" in request_headers
            and "retry-after" in response.headers)
