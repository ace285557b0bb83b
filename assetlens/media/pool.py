"""Analysis in worker processes, so decoding and preview encoding use every core.

`AnalysisPool` is a drop-in `analyse`: called from several threads at once, each call runs
one file's analysis in a worker process and waits for it. A worker that dies in native code
(a decoder crash, the OOM killer) breaks the whole executor; the pool replaces it and runs
the innocent calls that were in flight once more, so only the file that keeps crashing fails.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, TypeVar

from PIL import Image

from assetlens.domain import AssetType
from assetlens.media.analyse import analyse
from assetlens.media.results import Analysis
from assetlens.provenance import extract

log = logging.getLogger(__name__)

AnalyseFn = Callable[[Path, AssetType, str], Analysis]
T = TypeVar("T")


class AnalysisCrashed(RuntimeError):
    """A worker process died while analysing this file, twice."""


def ignore_interrupts() -> None:
    # Ctrl-C reaches the whole process group: the parent decides how to stop, and a worker
    # that died of it would look like a crash of the file it held.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _warm_up() -> None:
    """Run by `start` in a worker: a tiny analysis and extraction, so that what they load on
    first use (Pillow's plugins, scipy's FFT for the pHash, the provenance parsers; about a
    quarter of a CPU-second) is loaded before the first real file."""
    with tempfile.TemporaryDirectory(prefix="assetlens-warm-") as folder:
        path = Path(folder) / "warm.png"
        Image.new("RGB", (64, 48), (90, 120, 150)).save(path, format="PNG")
        extract(path, "image/png", analyse(path, AssetType.IMAGE, "image/png").stealth)


def default_workers() -> int:
    """The cores this process may run on (its CPU affinity), at least one."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class AnalysisPool:
    """`analyse` run in `workers` spawned processes; call it from any number of threads
    (at most `workers` files are analysed at once, the others wait their turn)."""

    def __init__(self, workers: int, fn: AnalyseFn = analyse) -> None:
        if workers < 1:
            raise ValueError("an analysis pool needs at least one worker")
        self._workers = workers
        self._fn = fn  # must be a module-level function: it is pickled to the workers
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None

    @property
    def workers(self) -> int:
        return self._workers

    def __call__(self, path: Path, asset_type: AssetType, mime: str) -> Analysis:
        return self.run(self._fn, path, asset_type, mime)

    def run(self, fn: Callable[..., T], path: Path, *args: Any) -> T:
        """`fn(path, *args)` in a worker process (`fn` at module level, so it pickles): the
        pool also runs provenance extraction, which may decode pixels too."""
        for attempt in (1, 2):
            executor = self._current()
            try:
                return executor.submit(fn, path, *args).result()
            except BrokenProcessPool:
                self._replace(executor)
                if attempt == 2:
                    break
                log.warning("an analysis worker died; trying %s once more", path.name)
        raise AnalysisCrashed("the analysis worker process died on this file")

    def start(self) -> None:
        """Start the workers now and warm them up (`_warm_up`), rather than at the first
        files: a worker's start (a fresh interpreter importing the analysis modules, about
        half a CPU-second) is paid once per pool, and this keeps it apart from the files.
        Each request starts a worker while none is idle, so all of them start; which warms
        up which is up to the executor."""
        executor = self._current()
        ready = [executor.submit(_warm_up) for _ in range(self._workers)]
        for future in ready:
            future.result()

    def close(self) -> None:
        """Stop the workers (started again by the next call)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                # Spawned, not forked: the parent runs threads (server, indexer, embedder)
                # whose locks a fork would copy mid-use.
                self._executor = ProcessPoolExecutor(
                    self._workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=ignore_interrupts,
                )
            return self._executor

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is broken:
                self._executor = None
        broken.shutdown(wait=False, cancel_futures=True)
