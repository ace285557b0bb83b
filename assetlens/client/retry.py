"""When the client retries a request, and how long it waits in between."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from assetlens.client.errors import ConnectionFailed, retry_after_seconds

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
    return (
        response.status_code == 409
        and "Idempotency-Key" in request_headers
        and "retry-after" in response.headers
    )


@dataclass(slots=True)
class Attempts:
    """The retry decisions for one request, apart from how it is sent: the sync and the
    async client run the same loop around `wait_after_error` and `wait_after`."""

    policy: RetryPolicy
    label: str  # "METHOD /path", for the error raised when the attempts run out
    headers: Mapping[str, str]
    number: int = 0

    def next(self) -> None:
        self.number += 1

    def wait_after_error(self, exc: httpx.TransportError) -> float:
        """Seconds to wait before trying again; ConnectionFailed once out of attempts."""
        if self.policy.gives_up(self.number):
            raise ConnectionFailed(f"{self.label}: {exc}") from exc
        return self.policy.delay(self.number)

    def wait_after(self, response: httpx.Response) -> float | None:
        """Seconds to wait before repeating the request, or None when this answer stands."""
        if self.policy.gives_up(self.number) or not worth_repeating(response, self.headers):
            return None
        return self.policy.delay(self.number, retry_after_seconds(response.headers))
