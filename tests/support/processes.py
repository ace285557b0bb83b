"""Helpers for tests that start, kill and wait on server processes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

# Liveness bounds, not performance claims: generous for a slow CI machine, yet far below
# "hangs until some default timeout".
OP_LIMIT = 30.0


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def bounded(call: Callable[[], object], limit: float = OP_LIMIT) -> BaseException | None:
    """Run `call` in a thread; the exception it raised (None if it returned). Fails the
    test when it is still running after `limit` seconds: it must fail, not hang."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(limit)
    if worker.is_alive():
        pytest.fail(f"operation still running after {limit} s: it must fail, not hang")
    return outcome[0]
