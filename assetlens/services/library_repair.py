"""Whole-library repairs of the index: reconcile it with the store, rebuild it, retry the
failed assets (the `Indexer`'s periodic reconcile and `assetlens reindex`)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from assetlens.domain import AssetStatus
from assetlens.manifests import Manifests
from assetlens.ports import SearchIndex
from assetlens.query import IndexDoc
from assetlens.services.index_failures import retry_failed
from assetlens.services.vectors import Vectors
from assetlens.workqueue import WorkQueue

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    enqueued: int
    removed: int
    checked: int
    retried: int = 0  # failed assets given a fresh set of attempts


class LibraryRepair:
    def __init__(self, manifests: Manifests, queue: WorkQueue, index: SearchIndex,
                 vectors: Vectors) -> None:  # fmt: skip
        self._manifests = manifests
        self._queue = queue
        self._index = index
        self._vectors = vectors

    def reconcile(self, *, retry_failed: bool = False) -> ReconcileReport:
        """Find drift between store and index and repair it through the queue; with
        `retry_failed`, also give every failed asset a fresh set of attempts."""
        retried = self.retry_failed() if retry_failed else 0
        indexed = {(ws, asset_id): rev for ws, asset_id, rev in self._index.revisions()}
        enqueued = checked = 0
        for asset in self._manifests.iter_all():
            checked += 1
            key = (asset.workspace, asset.id)
            revision = indexed.pop(key, None)
            if (
                revision is None
                or revision < asset.revision
                or asset.status is AssetStatus.PROCESSING
            ):
                self._queue.enqueue(asset.workspace, asset.id)
                enqueued += 1
        for workspace, asset_id in indexed:
            self._index.remove(workspace, [asset_id])
        return ReconcileReport(
            enqueued=enqueued, removed=len(indexed), checked=checked, retried=retried
        )

    def reindex(self, *, retry_failed: bool = False) -> int:
        """Rebuild the index from the store (re-embedding with the current model where no
        cached vector exists), switching to it only when complete; with `retry_failed`,
        failed assets are queued for a fresh set of attempts first."""
        if retry_failed:
            self.retry_failed()
        return self._index.rebuild(self._docs_for_rebuild())

    def retry_failed(self) -> int:
        """Queue every failed asset for a fresh set of attempts; returns how many."""
        return retry_failed(self._manifests, self._queue)

    def _docs_for_rebuild(self, batch: int = 32) -> Iterator[IndexDoc]:
        pending: list[IndexDoc] = []
        for asset in self._manifests.iter_all():
            if asset.status is AssetStatus.PROCESSING:
                self._queue.enqueue(asset.workspace, asset.id)
            pending.append(IndexDoc(asset=asset))
            if len(pending) >= batch:
                self._attach_vectors_or_log(pending)
                yield from pending
                pending = []
        self._attach_vectors_or_log(pending)
        yield from pending

    def _attach_vectors_or_log(self, docs: list[IndexDoc]) -> None:
        # A rebuild goes on without the vectors that fail; the worker retries them later.
        for failure in self._vectors.attach(docs):
            asset = failure.doc.asset
            log.warning(
                "reindexing %s/%s without its vector: embedding failed",
                asset.workspace,
                asset.id,
                exc_info=failure.error,
            )
            self._queue.enqueue(asset.workspace, asset.id)
