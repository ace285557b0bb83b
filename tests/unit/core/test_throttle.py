"""The in-process limits: token bucket per key, upload slots per workspace."""

from __future__ import annotations

import pytest

from assetlens.errors import TooManyRequests
from assetlens.throttle import ConcurrencyLimiter, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_admitted_then_the_next_request_waits_for_a_token() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    for _ in range(3):
        limiter.admit("k1")
    with pytest.raises(TooManyRequests) as refused:
        limiter.admit("k1")
    assert refused.value.status == 429
    assert refused.value.headers["Retry-After"] == "1"  # 0.5 s to the next token, rounded up
    clock.now += 0.5
    limiter.admit("k1")  # refilled one token
    with pytest.raises(TooManyRequests):
        limiter.admit("k1")


def test_retry_after_says_how_long_until_a_token_at_a_slow_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=0.1, burst=1, clock=clock)
    limiter.admit("k1")
    with pytest.raises(TooManyRequests) as refused:
        limiter.admit("k1")
    assert refused.value.retry_after == 10


def test_keys_have_buckets_of_their_own() -> None:
    limiter = RateLimiter(rate=1.0, burst=1, clock=Clock())
    limiter.admit("k1")
    limiter.admit("k2")
    with pytest.raises(TooManyRequests):
        limiter.admit("k1")


def test_the_bucket_never_holds_more_than_the_burst() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=2, clock=clock)
    clock.now += 3600
    limiter.admit("k1")
    limiter.admit("k1")
    with pytest.raises(TooManyRequests):
        limiter.admit("k1")


def test_a_rate_of_zero_turns_the_limit_off() -> None:
    limiter = RateLimiter(rate=0.0, burst=1, clock=Clock())
    assert not limiter.enabled
    for _ in range(1000):
        limiter.admit("k1")


def test_memory_stays_bounded_by_max_keys() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=1, max_keys=10, clock=clock)
    for n in range(100):
        limiter.admit(f"k{n}")
    assert 1 <= limiter.keys_tracked <= 10


def test_upload_slots_refuse_the_excess_and_free_on_exit() -> None:
    slots = ConcurrencyLimiter(2)
    with slots.slot("ws"), slots.slot("ws"):
        assert slots.in_use("ws") == 2
        with pytest.raises(TooManyRequests) as refused, slots.slot("ws"):
            pass
        assert refused.value.headers["Retry-After"] == "1"
        with slots.slot("other"):  # another workspace is not affected
            assert slots.in_use("other") == 1
    assert slots.in_use("ws") == 0
    with slots.slot("ws"):
        pass


def test_a_slot_is_freed_when_the_upload_fails() -> None:
    slots = ConcurrencyLimiter(1)
    with pytest.raises(RuntimeError), slots.slot("ws"):
        raise RuntimeError("upload failed")
    assert slots.in_use("ws") == 0


def test_a_limit_of_zero_turns_the_slots_off() -> None:
    slots = ConcurrencyLimiter(0)
    with slots.slot("ws"), slots.slot("ws"), slots.slot("ws"):
        assert slots.in_use("ws") == 0
