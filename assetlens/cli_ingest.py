"""The work behind `assetlens ingest`: files are imported in chunks while the indexer works
beside them, under one steady pair of progress bars, in memory that does not grow with the
number of files. Interrupted, the same command resumes: files the workspace already holds
are found by content (sha-256) and skipped, and what was queued but not indexed is indexed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from rich.progress import Progress

from assetlens.errors import Unavailable
from assetlens.ingest import ingest_files
from assetlens.services.assets import AssetService
from assetlens.services.duplicate_policy import PolicyName
from assetlens.services.indexing import Indexer
from assetlens.workqueue import WorkQueue

log = logging.getLogger(__name__)

#: Files imported per call: only failures and counts outlive a chunk.
CHUNK: Final = 256
#: Threads importing at once: an upload spends much of its time waiting for the store.
UPLOAD_LANES: Final = 4


@dataclass
class IngestTotals:
    """What an ingest did, as counts (and the files that need the user's attention)."""

    imported: int = 0
    skipped: int = 0
    indexed: int = 0
    failed: list[tuple[Path, str]] = field(default_factory=list)
    rejected: list[tuple[Path, str]] = field(default_factory=list)


class BackgroundIndexer:
    """Drains the indexing queue in a thread, one pipelined batch at a time so a stop is
    heard quickly; `finish` waits until nothing is left, `stop` until the batch in hand is
    done."""

    def __init__(self, indexer: Indexer, on_indexed: Callable[[int], None]) -> None:
        self._indexer = indexer
        self._on_indexed = on_indexed
        self._stop = threading.Event()
        self._last_call = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name="assetlens-ingest-indexer", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def finish(self) -> None:
        """Index everything still queued, then return."""
        self._last_call.set()
        self._thread.join()

    def stop(self) -> None:
        """Stop after the batch in hand (the rest stays queued for the next run)."""
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        # Worker processes start and warm up while the first files are imported.
        try:
            self._indexer.start_workers()
        except Exception:  # then they start with the first batch, as without this
            log.warning("could not start the analysis workers ahead", exc_info=True)
        while not self._stop.is_set():
            last_call = self._last_call.is_set()  # read first: nothing is enqueued after it
            try:
                done = self._indexer.drain(max_batches=2)
            except Unavailable as exc:
                log.warning("indexing waits for a backend: %s", exc.detail)
                self._stop.wait(1.0)
                continue
            self._on_indexed(done)
            if not done:
                if last_call:
                    return
                self._stop.wait(0.2)


def lanes(files: Sequence[Path], count: int) -> list[list[Path]]:
    """`files` split into up to `count` lanes by size, in order within each: files with the
    same content have the same size, so a copy is always imported after its original, in the
    same lane, and found there as a duplicate."""
    split: list[list[Path]] = [[] for _ in range(count)]
    for path in files:
        try:
            size = path.stat().st_size
        except OSError:
            size = 0  # reported as refused when its lane reaches it
        split[size % count].append(path)
    return [lane for lane in split if lane]


def ingest_all(
    assets: AssetService,
    indexer: Indexer | None,
    queue: WorkQueue,
    workspace: str,
    files: Sequence[Path],
    *,
    tags: list[str],
    policy: PolicyName,
    progress: Progress,
) -> IngestTotals:
    """Import `files` in UPLOAD_LANES threads (each upload waits on disk or network as much
    as it computes) and index them beside it, unless `indexer` is None, with progress shown.
    KeyboardInterrupt stops all of it after the files in hand and is raised again."""
    totals = IngestTotals()
    lock = threading.Lock()
    stop = threading.Event()
    importing = progress.add_task("importing", total=len(files))
    indexing = progress.add_task("indexing", total=queue.pending(), visible=indexer is not None)

    def indexed(count: int) -> None:
        with lock:
            totals.indexed += count
        progress.advance(indexing, count)

    def import_lane(lane: list[Path]) -> None:
        for start in range(0, len(lane), CHUNK):
            wanted = (path for path in lane[start : start + CHUNK] if not stop.is_set())
            report = ingest_files(
                assets,
                workspace,
                wanted,
                tags=tags,
                duplicates=policy,
                on_progress=lambda *_: progress.advance(importing),
            )
            with lock:
                totals.imported += len(report.created)
                totals.skipped += len(report.skipped)
                totals.failed += report.failed
                totals.rejected += report.rejected
            progress.update(
                indexing,
                advance=0,
                total=(progress.tasks[indexing].total or 0) + len(report.created),
            )

    background = BackgroundIndexer(indexer, indexed) if indexer is not None else None
    if background is not None:
        background.start()
    work = lanes(files, UPLOAD_LANES)
    try:
        with ThreadPoolExecutor(max(1, len(work)), thread_name_prefix="assetlens-import") as pool:
            pending = {pool.submit(import_lane, lane) for lane in work}
            try:
                while pending:  # polled, so that Ctrl-C is heard at once
                    done, pending = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
                    for future in done:
                        future.result()
            except BaseException:
                stop.set()
                raise
    except BaseException:
        if background is not None:
            background.stop()
        raise
    if background is not None:
        background.finish()
        progress.update(indexing, total=totals.indexed, completed=totals.indexed)
    return totals
