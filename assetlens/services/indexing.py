"""The indexing pipeline: manifest + blob → analysis, previews, provenance, vector → index.

At-least-once and idempotent: every step can run twice with the same result, the index
ignores older revisions, and vectors are cached per (blob, model) in the object store.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from PIL import Image

from assetlens import layout, media, provenance
from assetlens.config import Settings
from assetlens.domain import Asset, AssetStatus
from assetlens.errors import (
    NotFound,
    Unavailable,
)
from assetlens.manifests import Manifests
from assetlens.media.pool import AnalysisPool
from assetlens.metrics import NO_METRICS, Metrics
from assetlens.ports import Embedder, ObjectStore, SearchIndex
from assetlens.query import IndexDoc
from assetlens.schedule import claim_turn
from assetlens.services.asset_analysis import Analysed, Analyser, AssetAnalysis, Extractor
from assetlens.services.index_ack import ack_indexed
from assetlens.services.index_failures import Failure, mark_failed
from assetlens.services.index_pipeline import BatchPipeline, PreparedBatch
from assetlens.services.library_repair import LibraryRepair, ReconcileReport
from assetlens.services.lineage import LineageService
from assetlens.services.vectors import Vectors
from assetlens.workqueue import WorkItem, WorkQueue, backoff_delay

__all__ = ["Analyser", "Extractor", "Indexer", "ReconcileReport"]

log = logging.getLogger(__name__)

#: What preparing one item gives: the asset to index (None: it is gone) and its embed image,
#: or its analysis, stored with the rest of the batch's (`AssetAnalysis.record`).
Prepared = tuple[Asset | None, Image.Image | None] | Analysed
# Batches the worker loop pipelines before it runs its periodic jobs again.
_RUN_BATCHES = 8


class Indexer:
    def __init__(
        self,
        settings: Settings,
        store: ObjectStore,
        index: SearchIndex,
        queue: WorkQueue,
        embedder: Embedder | None,
        *,
        analyse: Analyser = media.analyse,
        pool: AnalysisPool | None = None,
        extract: Extractor = provenance.extract,
        jobs: Sequence[Callable[[], object]] = (),
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._metrics = metrics
        self._settings = settings
        self._store = store
        self._index = index
        self._queue = queue
        # With a pool, analysis runs in its worker processes, up to one item per worker at
        # a time, and the next batch is analysed while this one embeds and is written.
        self._pool = pool
        self._analyse: Analyser = pool if pool is not None else analyse
        # Twice as many threads as processes: a thread also waits on the store, reading the
        # original and writing previews, and meanwhile another can keep its process busy.
        self._fanout = (
            None
            if pool is None
            else ThreadPoolExecutor(2 * pool.workers, thread_name_prefix="assetlens-analyse")
        )
        self._pipeline = BatchPipeline(self, queue, settings.indexer_batch_size)
        # Periodic upkeep run by the worker loop; each job claims its own shared schedule.
        self._jobs = tuple(jobs)
        self._manifests = Manifests(store)
        self._vectors = Vectors(store, embedder)
        self._repair = LibraryRepair(self._manifests, queue, index, self._vectors)
        self._analysis = AssetAnalysis(
            store,
            index,
            self._manifests,
            LineageService(store, self._manifests),
            settings.data_dir / "tmp" / "indexer",
            self._analyse,
            extract if pool is None else partial(pool.run, extract),
            self._mark_failed,
        )

    # -- the worker loop --------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Claim and process batches until `stop` is set; back off while backends are down.
        Nothing but `stop` ends the loop: a worker that died on one bad item would leave
        every later upload unindexed."""
        backoff = self._settings.indexer_poll_seconds
        while not stop.is_set():
            self._upkeep()
            try:
                done = (
                    self._pipeline.drain(_RUN_BATCHES)
                    if self._fanout is not None
                    else self.run_once()
                )
                backoff = self._settings.indexer_poll_seconds
            except Unavailable as exc:
                log.warning("indexer waiting for a backend: %s", exc.detail)
                done = 0
                backoff = min(backoff * 2, 30.0)
            except Exception:
                log.exception("indexer loop failed; continuing")
                done = 0
                backoff = min(backoff * 2, 30.0)
            if not done:
                stop.wait(backoff)

    def _upkeep(self) -> None:
        """Reconcile and the periodic jobs, each on its own: one that keeps failing (a bug,
        a corrupt schedule object) is logged and never keeps the batches from running."""
        for job in (self.reconcile_if_due, *self._jobs):
            try:
                job()
            except Unavailable as exc:
                log.warning("indexer upkeep waiting for a backend: %s", exc.detail)
            except Exception:
                log.exception(
                    "indexer upkeep job %s failed; indexing continues",
                    getattr(job, "__qualname__", repr(job)),
                )

    def reconcile_if_due(self) -> ReconcileReport | None:
        """Reconcile when the shared schedule says so: one worker per interval wins the
        compare-and-swap on the schedule object, so N workers don't all scan."""
        if not claim_turn(
            self._store,
            layout.RECONCILE_SCHEDULE_KEY,
            self._settings.reconcile_interval_seconds,
            time.time(),
        ):
            return None
        report = self.reconcile()
        log.info(
            "reconciled %d assets: %d queued, %d stale index entries removed",
            report.checked,
            report.enqueued,
            report.removed,
        )
        return report

    def run_once(self) -> int:
        """Process one batch; returns how many items were claimed."""
        items = self._queue.claim(self._settings.indexer_batch_size)
        if items:
            self.process(items)
        return len(items)

    def drain(self, max_batches: int = 10_000) -> int:
        """Process until the queue has nothing due (CLI ingest, tests)."""
        if self._fanout is not None:
            return self._pipeline.drain(max_batches)
        total = 0
        for _ in range(max_batches):
            claimed = self.run_once()
            if not claimed:
                break
            total += claimed
        return total

    def process(self, items: list[WorkItem]) -> None:
        """Index a claimed batch. Whatever one item raises stays with that item: it is
        retried with back-off, then marked failed, and the others are acked as usual."""
        self.finish(self.prepare(items))

    def prepare(self, items: list[WorkItem]) -> PreparedBatch:
        """Read and analyse a claimed batch (several items at once with a pool), then store
        the analyses: everything but the vectors and the index write. Never raises; each
        item's outcome is recorded."""
        batch = PreparedBatch(items)
        outcomes = (
            self._fanout.map(self._attempt, items)
            if self._fanout is not None
            else map(self._attempt, items)
        )
        analysed: dict[WorkItem, Analysed] = {}
        for item, outcome in zip(items, outcomes, strict=True):
            if isinstance(outcome, Analysed):
                analysed[item] = outcome
            else:
                batch.add(item, outcome)
        # Stored for the whole batch: previews and pHash bands in one write (its syncs issued
        # together on the local store), then each manifest marked ready, several at once
        # with a pool.
        run = self._fanout.map if self._fanout is not None else map
        stored = self._analysis.record(list(analysed.values()), run)
        for (item, done), result in zip(analysed.items(), stored, strict=True):
            if isinstance(result, Exception) and not isinstance(result, Unavailable):
                batch.add(item, Failure("analysis", result, done.asset.revision))
            else:
                batch.add(item, result)
        return batch

    def finish(self, batch: PreparedBatch) -> None:
        """Embed, write and acknowledge a prepared batch."""
        docs, removals, failures = batch.docs, batch.removals, batch.failures
        for item, error in batch.postponed.items():
            self._postpone(item, error)
        try:
            for lost in self._vectors.attach(list(docs.values()), batch.images):
                item = next(i for i, doc in docs.items() if doc is lost.doc)
                failures[item] = Failure("embedding", lost.error, lost.doc.asset.revision)
                del docs[item]
            failures.update(self._upsert(docs))
            failures.update(self._remove(removals))
        except Unavailable as exc:
            for item in [*docs, *removals]:
                self._postpone(item, exc)
            for item, failure in failures.items():  # failed before the outage: they count
                self._failed(item, failure)
            raise
        for item, failure in failures.items():
            self._failed(item, failure)
        for item in [*docs, *removals]:
            if item in failures:
                continue
            ack_indexed(
                self._queue,
                self._manifests,
                item,
                docs[item].asset.revision if item in docs else None,
            )
            self._metrics.indexed("ok")
            if item in docs:
                log.info(
                    "indexed %s/%s revision %d",
                    item.workspace,
                    item.asset_id,
                    docs[item].asset.revision,
                )

    def release(self, batch: PreparedBatch) -> None:
        """Give a prepared batch's items back to the queue unprocessed, without using up an
        attempt (the pipeline stopped before it could finish them)."""
        for item in batch.items:
            try:
                self._queue.retry(item, delay=0.0, refund=True)
            except Exception:  # the store is down: the lease runs out instead
                log.warning("could not release %s/%s", item.workspace, item.asset_id)

    def start_workers(self) -> None:
        """Start the analysis worker processes now (else at the first item analysed)."""
        if self._pool is not None:
            self._pool.start()

    def close(self) -> None:
        """Stop the analysis threads and worker processes."""
        if self._fanout is not None:
            self._fanout.shutdown(wait=True)
            self._pipeline.close()
        if self._pool is not None:
            self._pool.close()

    def _attempt(self, item: WorkItem) -> Prepared | Failure | Unavailable:
        """Prepare one item; what it raised as a Failure naming the revision it read."""
        asset: Asset | None = None
        try:
            try:
                asset, _ = self._manifests.get(item.workspace, item.asset_id)
            except NotFound:
                return None, None
            return self._prepare(item, asset)
        except Unavailable as exc:
            return exc
        except Exception as exc:
            return Failure("analysis", exc, None if asset is None else asset.revision)

    def _upsert(self, docs: dict[WorkItem, IndexDoc]) -> dict[WorkItem, Failure]:
        """Write the batch; if the index rejects it, write one by one so that one bad
        document doesn't hold back the others. Returns the rejected ones."""
        if not docs:
            return {}
        try:
            self._index.upsert(list(docs.values()))
            return {}
        except Unavailable:
            raise
        except Exception:
            log.warning("the index refused a batch of %d; writing them one by one", len(docs))
        failed: dict[WorkItem, Failure] = {}
        for item, doc in docs.items():
            try:
                self._index.upsert([doc])
            except Unavailable:
                raise
            except Exception as exc:
                failed[item] = Failure("indexing", exc, doc.asset.revision)
        return failed

    def _remove(self, items: list[WorkItem]) -> dict[WorkItem, Failure]:
        failed: dict[WorkItem, Failure] = {}
        for item in items:
            try:
                self._index.remove(item.workspace, [item.asset_id])
            except Unavailable:
                raise
            except Exception as exc:
                failed[item] = Failure("removal from the index", exc)
        return failed

    def _postpone(self, item: WorkItem, error: Unavailable) -> None:
        """A backend outage: try again later without using up one of the item's attempts."""
        log.warning("retrying %s/%s later: %s", item.workspace, item.asset_id, error.detail)
        self._queue.retry(item, delay=self._backoff(item), refund=True)
        self._metrics.indexed("retry")

    def _failed(self, item: WorkItem, failure: Failure) -> None:
        """Retry later with back-off, or, after the last attempt, mark the revision the pass
        worked on failed (a change that came meanwhile stays queued, or is queued again)
        and index it as it is (without whatever failed), so it shows up with its error."""
        log.warning(
            "%s of %s/%s failed (attempt %d of %d)",
            failure.stage,
            item.workspace,
            item.asset_id,
            item.attempts,
            self._settings.indexer_max_attempts,
            exc_info=failure.error,
        )
        if item.attempts < self._settings.indexer_max_attempts:
            self._queue.retry(item, delay=self._backoff(item))
            self._metrics.indexed("retry")
            return
        log.error(
            "giving up on %s/%s after %d attempts: %s",
            item.workspace,
            item.asset_id,
            item.attempts,
            failure.reason,
        )
        acked: int | None = None  # what the ack's re-check compares the manifest with
        try:
            asset = self._mark_failed(
                item.workspace, item.asset_id, failure.reason, failure.revision
            )
            acked = failure.revision if asset is None else asset.revision
            if asset is not None and failure.stage != "indexing":
                self._index.upsert([IndexDoc(asset=asset)])
        except Unavailable as exc:
            self._postpone(item, exc)
            return
        except Exception:
            log.exception("could not record the failure of %s/%s", item.workspace, item.asset_id)
        ack_indexed(self._queue, self._manifests, item, acked)

    def _backoff(self, item: WorkItem) -> float:
        return backoff_delay(
            item.attempts,
            self._settings.indexer_retry_base_seconds,
            self._settings.indexer_retry_max_seconds,
        )

    # -- one asset --------------------------------------------------------------------------

    def _prepare(self, item: WorkItem, asset: Asset) -> Prepared:
        """The asset to index (its manifest as read), analysed if it wasn't yet, with the
        image its analysis made for the embedder."""
        if item.attempts > self._settings.indexer_max_attempts:
            # Claimed that often without an outcome: the worker died on it each time (OOM,
            # a crash in native code). Index it as it is, trying nothing that could crash.
            return self._mark_failed(
                asset.workspace,
                asset.id,
                "indexing was interrupted on every attempt; see the indexer log",
                asset.revision,
            ) or asset, None
        if asset.status is AssetStatus.PROCESSING:
            return self._analysis.analyse(asset)
        return asset, None

    def _mark_failed(
        self, workspace: str, asset_id: str, reason: str, revision: int | None
    ) -> Asset | None:
        marked = mark_failed(self._manifests, workspace, asset_id, reason, revision=revision)
        if marked is not None:
            self._metrics.indexed("failed")
        return marked

    # -- whole-library operations (services/library_repair.py) -----------------------------

    def reconcile(self, *, retry_failed: bool = False) -> ReconcileReport:
        """Find drift between store and index and repair it through the queue; with
        `retry_failed`, also give every failed asset a fresh set of attempts."""
        return self._repair.reconcile(retry_failed=retry_failed)

    def reindex(self, *, retry_failed: bool = False) -> int:
        """Rebuild the index from the store, switching to it only when complete."""
        return self._repair.reindex(retry_failed=retry_failed)

    def retry_failed(self) -> int:
        """Queue every failed asset for a fresh set of attempts; returns how many."""
        return self._repair.retry_failed()
