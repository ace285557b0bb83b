"""How Elasticsearch failures become domain errors, and the bounded retry around each call.

Connection errors, timeouts, 429, 5xx, a missing index behind the alias (an alias swap in
flight) and searches with failed shards are retried with exponential backoff; after the last
attempt they are IndexUnavailable (503). Bad credentials are IndexUnavailable at once. A
request Elasticsearch refuses (400: a mapping or query it cannot take) is IndexRejected.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import Any, TypeVar

from elasticsearch import ApiError, TransportError

from assetlens.errors import AssetlensError, IndexUnavailable

T = TypeVar("T")
log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class IndexRejected(AssetlensError):
    """Elasticsearch refused a request as malformed (a bug or data it cannot index, e.g. a
    vector that is not unit-length); retrying would not help."""

    status = 500
    title = "Search index rejected the request"


class PartialResults(Exception):
    """A search answered without every shard (e.g. an index deleted under an alias swap)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempts per call and the exponential backoff between them (with ±25 % jitter)."""

    attempts: int = 4
    initial_backoff_s: float = 0.2
    max_backoff_s: float = 2.0

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1-based)."""
        base: float = min(self.max_backoff_s, self.initial_backoff_s * 2.0 ** (retry - 1))
        jitter: float = random.uniform(0.75, 1.25)
        return base * jitter


def error_type(exc: ApiError) -> str:
    """The Elasticsearch error type of an API error (`index_not_found_exception`…)."""
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("type", ""))
    return ""


def describe(exc: BaseException) -> str:
    """A short description for messages and logs (no request bodies, no credentials)."""
    if isinstance(exc, ApiError):
        reason = ""
        if isinstance(exc.body, dict) and isinstance(exc.body.get("error"), dict):
            reason = str(exc.body["error"].get("reason", ""))[:300]
        return f"HTTP {exc.meta.status} {error_type(exc) or exc.message}: {reason}".rstrip(": ")
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def retriable(exc: BaseException) -> bool:
    """Whether trying the same call again later may succeed."""
    if isinstance(exc, PartialResults):
        return True
    if isinstance(exc, ApiError):
        status = exc.meta.status
        return status in RETRY_STATUSES or (
            status == 404 and error_type(exc) == "index_not_found_exception"
        )
    return isinstance(exc, TransportError)  # connection refused/reset, timeouts, TLS


def translate(exc: BaseException, action: str) -> AssetlensError:
    """The domain error for a failure that is not retried (any more)."""
    if isinstance(exc, ApiError):
        status = exc.meta.status
        if status in (401, 403):
            return IndexUnavailable(f"elasticsearch refused the credentials ({action})")
        if status == 404 and error_type(exc) == "index_not_found_exception":
            return IndexUnavailable(f"elasticsearch: {action}: the index does not exist")
        if status in RETRY_STATUSES:
            return IndexUnavailable(f"elasticsearch: {action} failed: {describe(exc)}")
        return IndexRejected(f"elasticsearch: {action} rejected: {describe(exc)}")
    return IndexUnavailable(f"elasticsearch: {action} failed: {describe(exc)}")


def call(
    action: str,
    fn: Callable[[], T],
    policy: RetryPolicy,
    *,
    passthrough: Container[int] = (),
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`fn()` retried per `policy`. An ApiError whose status is in `passthrough` (and which is
    not a missing index) is re-raised for the caller to handle; every other failure becomes
    IndexUnavailable or IndexRejected."""
    last: BaseException | None = None
    for attempt in range(policy.attempts):
        if attempt:
            sleep(policy.delay(attempt))
        try:
            return fn()
        except (ApiError, TransportError, PartialResults) as exc:
            if (
                isinstance(exc, ApiError)
                and exc.meta.status in passthrough
                and error_type(exc) != "index_not_found_exception"
            ):
                raise
            if not retriable(exc):
                raise translate(exc, action) from exc
            last = exc
            log.warning("elasticsearch %s: attempt %d failed: %s", action, attempt + 1,
                        describe(exc))  # fmt: skip
    assert last is not None
    raise translate(last, action) from last


def check_shards(response: dict[str, Any]) -> dict[str, Any]:
    """`response` when every shard answered; PartialResults otherwise."""
    shards = response.get("_shards", {})
    if shards.get("failed", 0) or shards.get("successful", 0) < shards.get("total", 0):
        raise PartialResults(f"{shards.get('failed', 0)} of {shards.get('total')} shards failed")
    if response.get("timed_out"):
        raise PartialResults("search timed out")
    return response
