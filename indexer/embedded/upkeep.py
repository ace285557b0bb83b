"""Background upkeep of the embedded index's derived structures.

Writes commit to SQLite only; the tantivy index, the vector files and the HNSW graphs are
brought up to date afterwards, by one thread per EmbeddedSearchIndex: woken by each write,
it waits until writes pause (`quiet_s`, at most `max_delay_s` during a steady stream) and
then runs the index's catch-up, telling it whether writes are still streaming in (a bulk
import), so that it can leave whole-file rewrites until they pause. A query that arrives
before it is done still answers correctly (the keyword index catches up before it
searches, kNN scans the rows the graph does not hold yet); it is only slower.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Upkeep:
    """Runs `work(streaming)` in a daemon thread after writes (`poke`), debounced;
    `streaming` is True when it runs because writes kept coming for `max_delay_s`."""

    def __init__(self, work: Callable[[bool], None], *, quiet_s: float = 0.5,
                 max_delay_s: float = 5.0) -> None:  # fmt: skip
        self._work = work
        self._quiet_s = quiet_s
        self._max_delay_s = max_delay_s
        self._cond = threading.Condition()
        self._first: float | None = None  # monotonic time of the oldest write not yet handled
        self._last = 0.0
        # After a run during a stream, one more once writes pause: files the streaming run
        # left for later are then rewritten even if no further write comes.
        self._quiet_owed = False
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
            return self._cond.wait_for(self._idle, timeout_s)

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

    def _idle(self) -> bool:
        return self._first is None and not self._quiet_owed and not self._running

    def _pending(self) -> bool:
        return self._first is not None or self._quiet_owed

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed and not self._pending():
                    self._cond.wait()
                streaming = False
                while not self._closed and self._pending():
                    now = time.monotonic()
                    due = self._last + self._quiet_s
                    if self._first is not None:
                        due = min(due, self._first + self._max_delay_s)
                    if now >= due:
                        streaming = now < self._last + self._quiet_s
                        break
                    self._cond.wait(due - now)
                if self._closed:
                    self._first, self._quiet_owed = None, False
                    self._cond.notify_all()
                    return
                self._first, self._quiet_owed, self._running = None, False, True
            try:
                self._work(streaming)
            except Exception:
                # Derived data: the queries catch up on their own; the next write retries.
                log.exception("embedded index: background catch-up failed")
            finally:
                with self._cond:
                    self._running = False
                    self._quiet_owed = self._quiet_owed or streaming
                    self._cond.notify_all()
