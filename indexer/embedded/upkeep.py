"""Background upkeep of the embedded index's derived structures.

Writes commit to SQLite only; the tantivy index, the vector files and the HNSW graphs are
brought up to date afterwards, by one thread per EmbeddedSearchIndex: woken by each write,
it waits until writes pause (`quiet_s`, at most `max_delay_s` during a steady stream) and
then runs the index's catch-up. A query that arrives before it is done still answers
correctly (the keyword index catches up before it searches, kNN scans the rows the graph
does not hold yet); it is only slower.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Upkeep:
    """Runs `work` in a daemon thread after writes (`poke`), debounced."""

    def __init__(self, work: Callable[[], None], *, quiet_s: float = 0.5,
                 max_delay_s: float = 5.0) -> None:  # fmt: skip
        self._work = work
        self._quiet_s = quiet_s
        self._max_delay_s = max_delay_s
        self._cond = threading.Condition()
        self._first: float | None = None  # monotonic time of the oldest write not yet handled
        self._last = 0.0
        self._running = False
        self._closed = False
        self._thread: threading.Thread | None = None

    def poke(self) -> None:
        """Note a write; the work runs once writes pause."""
        with self._cond:
            if self._closed:
                return
            now = time.monotonic()
            self._last = now
            if self._first is None:
                self._first = now
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="embedded-upkeep",
                                                daemon=True)  # fmt: skip
                self._thread.start()
            self._cond.notify_all()

    def settle(self, timeout_s: float | None = None) -> bool:
        """Wait until no write is waiting for the work and none is running (benchmarks,
        tests); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._first is None and not self._running,
                                       timeout_s)  # fmt: skip

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the thread, waiting up to `timeout_s` for a run in progress. A longer one (a
        first tantivy build of a large library) is left to the process's exit: every
        structure it writes is replaced atomically, so being cut short loses only its work."""
        with self._cond:
            self._closed = True
            thread = self._thread
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout_s)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed and self._first is None:
                    self._cond.wait()
                while not self._closed and self._first is not None:
                    now = time.monotonic()
                    due = min(self._last + self._quiet_s, self._first + self._max_delay_s)
                    if now >= due:
                        break
                    self._cond.wait(due - now)
                if self._closed:
                    self._first = None
                    self._cond.notify_all()
                    return
                self._first, self._running = None, True
            try:
                self._work()
            except Exception:
                # Derived data: the queries catch up on their own; the next write retries.
                log.exception("embedded index: background catch-up failed")
            finally:
                with self._cond:
                    self._running = False
                    self._cond.notify_all()
