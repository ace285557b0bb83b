"""The indexer's batch pipeline: the next batch is read and analysed while the current one
is embedded and written, so the worker processes and the embedder are busy at once."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from PIL import Image

from assetlens.errors import Unavailable
from assetlens.query import IndexDoc
from assetlens.services.index_failures import Failure
from assetlens.workqueue import WorkItem, WorkQueue

log = logging.getLogger(__name__)


@dataclass(slots=True)
class PreparedBatch:
    """A claimed batch after reading and analysis: what to index, remove, retry or fail."""

    items: list[WorkItem]
    docs: dict[WorkItem, IndexDoc] = field(default_factory=dict)
    removals: list[WorkItem] = field(default_factory=list)
    failures: dict[WorkItem, Failure] = field(default_factory=dict)
    postponed: dict[WorkItem, Unavailable] = field(default_factory=dict)
    #: Blob sha256 → the embed image its analysis made (fresh assets only).
    images: dict[str, Image.Image] = field(default_factory=dict)

    def add(self, item: WorkItem, outcome: object) -> None:
        """Sort one item's outcome in: a store outage (retried, no attempt used up), a
        failure (a file that breaks a decoder, a parser bug; a bare error counts as one of
        the analysis, on no known revision), or the asset to index (None: it is gone,
        remove it) with its embed image."""
        if isinstance(outcome, Unavailable):
            self.postponed[item] = outcome
        elif isinstance(outcome, Failure):
            self.failures[item] = outcome
        elif isinstance(outcome, Exception):
            self.failures[item] = Failure("analysis", outcome)
        elif isinstance(outcome, tuple) and (asset := outcome[0]) is None:
            self.removals.append(item)
        elif isinstance(outcome, tuple):
            self.docs[item] = IndexDoc(asset=asset)
            if (image := outcome[1]) is not None:
                self.images[asset.sha256] = image


class BatchStages(Protocol):
    """The two halves of indexing a batch, and the way back for one never finished."""

    def prepare(self, items: list[WorkItem]) -> PreparedBatch: ...

    def finish(self, batch: PreparedBatch) -> None: ...

    def release(self, batch: PreparedBatch) -> None: ...


class BatchPipeline:
    """Runs `prepare` of batch k+1 in a background thread while `finish` of batch k runs in
    the caller's thread. Claiming ahead is safe: a claimed item is leased, so no other
    worker (nor this one) claims it again until it is acked or released."""

    def __init__(self, stages: BatchStages, queue: WorkQueue, batch_size: int) -> None:
        self._stages = stages
        self._queue = queue
        self._batch_size = batch_size
        self._ahead = ThreadPoolExecutor(1, thread_name_prefix="assetlens-prepare")

    def drain(self, max_batches: int) -> int:
        """Process up to `max_batches` batches, or until nothing is due; returns how many
        items were claimed. If finishing raises, the batch prepared ahead is released."""
        total = 0
        ahead: Future[PreparedBatch] | None = None
        try:
            for _ in range(max_batches):
                items = self._queue.claim(self._batch_size)
                following = self._ahead.submit(self._stages.prepare, items) if items else None
                total += len(items)
                if ahead is not None:
                    current, ahead = ahead, following
                    self._stages.finish(current.result())
                else:
                    ahead = following
                if following is None:
                    break
            if ahead is not None:
                current, ahead = ahead, None
                self._stages.finish(current.result())
        finally:
            if ahead is not None:
                self._stages.release(ahead.result())
        return total

    def close(self) -> None:
        self._ahead.shutdown(wait=True)
