"""What an outbox holds and how it retries: item states and statuses, the exceptions a
sender raises, the back-off policy and the sender's signature (assetlens.client.outbox)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any


class ItemState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class Rejected(Exception):
    """Raised by `send`: the server refused the item, and would refuse it again."""


class RetryLater(Exception):
    """Raised by `send`: try again, not before `retry_after` seconds (when given).
    `outage`: the server cannot take any item now (unreachable, 502/503/504, 429…), so the
    others wait too; False for a failure of this item alone (a 500 on its file, say)."""

    def __init__(
        self, message: str, retry_after: float | None = None, *, outage: bool = True
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.outage = outage


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """Back-off between attempts of one item: `base` seconds doubling up to `cap`, with
    jitter; `max_attempts` None retries for ever. `lease`: how long an item being sent by
    one process is left alone by the others."""

    base: float = 1.0
    cap: float = 300.0
    max_attempts: int | None = None
    lease: float = 300.0

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        ceiling = min(self.cap, self.base * 2 ** max(attempts - 1, 0))
        wait = random.uniform(ceiling / 2, ceiling)
        return max(wait, min(retry_after, self.cap)) if retry_after is not None else wait


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One item to deliver: its stored file, the upload's fields and its key."""

    id: str
    idempotency_key: str
    path: Path
    filename: str
    fields: dict[str, Any]
    attempts: int


@dataclass(frozen=True, slots=True)
class ItemStatus:
    id: str
    state: ItemState
    attempts: int
    asset_id: str | None
    last_error: str | None


Send = Callable[[OutboxItem], str]
"""Delivers one item; returns the asset id. Raises Rejected (dead letter), RetryLater or
anything else (retried with back-off)."""
