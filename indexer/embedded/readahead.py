"""Reading mapped files ahead of the queries that fault them in.

A new process maps its HNSW graph and vector files; with them out of the page cache, its
first kNN faults their pages in one small read at a time, in the order the graph walk
touches them (2.1 s of a 3.2 s first kNN at 1M vectors, docs/BENCHMARKS.md). Asking the
kernel for the whole files up front turns that into large sequential reads. The request is
made from a daemon thread (it may block while the reads are queued), so neither start-up nor
a query waits for it; it is only a hint: a file that is gone or cannot be read is skipped.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

log = logging.getLogger(__name__)

# Linux reads at most the device's read-ahead size (read_ahead_kb, often 128 KiB to 8 MiB)
# per WILLNEED request and ignores the rest of the range: the file is asked for in chunks.
_CHUNK = 4 << 20


def advise_will_need(path: Path) -> bool:
    """Ask the kernel to read `path` into the page cache now; False when it could not be
    asked (no such file, or no posix_fadvise on this platform)."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        size = os.fstat(fd).st_size
        for offset in range(0, size, _CHUNK):
            advise(fd, offset, _CHUNK, os.POSIX_FADV_WILLNEED)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def read_ahead(files: Callable[[], Iterable[Path]]) -> threading.Thread:
    """Hint the files `files()` names into the page cache, from a new daemon thread (which
    also runs `files`: listing them may touch the disk). Returned for tests to join."""

    def run() -> None:
        try:
            todo = list(files())
        except Exception as exc:  # a hint: the queries find out for themselves
            log.info("embedded index: nothing read ahead: %s", exc)
            return
        advised = sum(advise_will_need(path) for path in todo)
        log.debug("embedded index: read ahead %d of %d files", advised, len(todo))

    thread = threading.Thread(target=run, name="embedded-read-ahead", daemon=True)
    thread.start()
    return thread
