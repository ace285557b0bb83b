"""The indexing pipeline: manifest + blob → analysis, previews, provenance, vector → index.

At-least-once and idempotent: every step can run twice with the same result, the index
ignores older revisions, and vectors are cached per (blob, model) in the object store.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from assetlens import layout, media, provenance
from assetlens.config import Settings
from assetlens.domain import Asset, AssetStatus, AssetType, Generation
from assetlens.errors import (
    AssetlensError,
    EmbeddingUnavailable,
    NotFound,
    ObjectNotFound,
    Unavailable,
)
from assetlens.manifests import Manifests
from assetlens.metrics import NO_METRICS, Metrics
from assetlens.ports import Embedder, ObjectStore, SearchIndex
from assetlens.query import IndexDoc
from assetlens.schedule import claim_turn
from assetlens.services.lineage import LineageService
from assetlens.workqueue import WorkItem, WorkQueue

log = logging.getLogger(__name__)

EMBEDDABLE = frozenset({AssetType.IMAGE, AssetType.LOGO, AssetType.VIDEO})
Analyser = Callable[[Path, AssetType, str], media.Analysis]
Extractor = Callable[[Path, str], Generation | None]


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    enqueued: int
    removed: int
    checked: int


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
        extract: Extractor = provenance.extract,
        jobs: Sequence[Callable[[], object]] = (),
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._metrics = metrics
        self._settings = settings
        self._store = store
        self._index = index
        self._queue = queue
        self._embedder = embedder
        self._analyse = analyse
        self._extract = extract
        # Periodic upkeep run by the worker loop; each job claims its own shared schedule.
        self._jobs = tuple(jobs)
        self._manifests = Manifests(store)
        self._lineage = LineageService(store, self._manifests)
        self._tmp = settings.data_dir / "tmp" / "indexer"

    # -- the worker loop --------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Claim and process batches until `stop` is set; back off while backends are down.
        Nothing but `stop` ends the loop: a worker that died on one bad item would leave
        every later upload unindexed."""
        backoff = self._settings.indexer_poll_seconds
        while not stop.is_set():
            try:
                self.reconcile_if_due()
                for job in self._jobs:
                    job()
                done = self.run_once()
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

    def reconcile_if_due(self) -> ReconcileReport | None:
        """Reconcile when the shared schedule says so: one worker per interval wins the
        compare-and-swap on the schedule object, so N workers don't all scan."""
        if not claim_turn(self._store, layout.RECONCILE_SCHEDULE_KEY,
                          self._settings.reconcile_interval_seconds, time.time()):
            return None
        report = self.reconcile()
        log.info("reconciled %d assets: %d queued, %d stale index entries removed",
                 report.checked, report.enqueued, report.removed)
        return report

    def run_once(self) -> int:
        """Process one batch; returns how many items were claimed."""
        items = self._queue.claim(self._settings.indexer_batch_size)
        if items:
            self.process(items)
        return len(items)

    def drain(self, max_batches: int = 10_000) -> int:
        """Process until the queue has nothing due (CLI ingest, tests)."""
        total = 0
        for _ in range(max_batches):
            claimed = self.run_once()
            if not claimed:
                break
            total += claimed
        return total

    def process(self, items: list[WorkItem]) -> None:
        docs: dict[WorkItem, IndexDoc] = {}
        removals: list[WorkItem] = []
        for item in items:
            try:
                asset = self._prepare(item)
            except Exception as exc:  # a backend outage, or a file that breaks a decoder
                self._retry(item, exc)
                continue
            if asset is None:
                removals.append(item)
            else:
                docs[item] = IndexDoc(asset=asset)
        try:
            self._attach_vectors(list(docs.values()))
            failed = self._upsert(docs)
            for item in removals:
                self._index.remove(item.workspace, [item.asset_id])
        except Unavailable:
            for item in [*docs, *removals]:
                self._queue.retry(item, delay=self._retry_delay(item))
            self._metrics.indexed("retry", len(docs) + len(removals))
            raise
        for item in [*docs, *removals]:
            if item in failed:
                self._retry(item, failed[item])
                continue
            self._queue.ack(item)
            self._metrics.indexed("ok")
            if item in docs:
                log.info("indexed %s/%s revision %d", item.workspace, item.asset_id,
                         docs[item].asset.revision)

    def _upsert(self, docs: dict[WorkItem, IndexDoc]) -> dict[WorkItem, Exception]:
        """Write the batch; if the index rejects it, write one by one so that one bad
        document doesn't hold back the others. Returns the rejected ones."""
        if not docs:
            return {}
        try:
            self._index.upsert(list(docs.values()))
            return {}
        except Unavailable:
            raise
        except AssetlensError:
            pass
        failed: dict[WorkItem, Exception] = {}
        for item, doc in docs.items():
            try:
                self._index.upsert([doc])
            except Unavailable:
                raise
            except AssetlensError as exc:
                failed[item] = exc
        return failed

    def _retry(self, item: WorkItem, error: Exception) -> None:
        if isinstance(error, AssetlensError):
            log.warning("retrying %s/%s later: %s", item.workspace, item.asset_id, error.detail)
        else:
            log.error("processing %s/%s failed (attempt %d)", item.workspace, item.asset_id,
                      item.attempts, exc_info=error)
        self._queue.retry(item, delay=self._retry_delay(item))
        self._metrics.indexed("retry")

    def _retry_delay(self, item: WorkItem) -> float:
        return float(min(2 ** max(item.attempts - 1, 0), 300))

    # -- one asset --------------------------------------------------------------------------

    def _prepare(self, item: WorkItem) -> Asset | None:
        """The asset to index, analysed if it wasn't yet; None when it no longer exists."""
        try:
            asset, _ = self._manifests.get(item.workspace, item.asset_id)
        except NotFound:
            return None
        if asset.status is AssetStatus.PROCESSING:
            if item.attempts > self._settings.indexer_max_attempts:
                return self._mark_failed(asset, "processing kept failing; see indexer logs")
            asset = self._analyse_asset(asset)
        return asset

    def _analyse_asset(self, asset: Asset) -> Asset:
        self._tmp.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=self._tmp, suffix="." + asset.extension) as tmp:
            try:
                for chunk in self._store.iter_range(layout.blob_key(asset.sha256)):
                    tmp.write(chunk)
            except ObjectNotFound:
                return self._mark_failed(asset, "the original file is missing from the store")
            tmp.flush()
            path = Path(tmp.name)
            analysis = self._analyse(path, asset.type, asset.mime)
            parsed = self._extract(path, asset.mime)
        if analysis.phash:
            for band, value in enumerate(layout.phash_bands(analysis.phash)):
                self._store.put_bytes(
                    layout.phash_band_key(asset.workspace, band, value, asset.id), b"")
        parents = self._lineage.named_inputs(asset.workspace, asset.id, parsed, self._index) \
            if parsed is not None else {}
        self._lineage.link(asset.workspace, asset.id, parents)
        previews: dict[str, str] = {}
        for size, data in analysis.previews.items():
            key = layout.preview_key(asset.sha256, size)
            self._store.put_bytes(key, data, content_type="image/webp")
            previews[size] = key

        def mutate(current: Asset) -> Asset | None:
            if current.status not in (AssetStatus.PROCESSING, AssetStatus.DELETED):
                return None  # someone else finished it
            if current.sha256 != asset.sha256:
                return None  # a new version arrived meanwhile; its own pass analyses it
            current.media = analysis.media
            current.phash = analysis.phash
            current.previews = previews
            if parsed is not None:  # otherwise keep what a sidecar said
                current.generation_parsed = parsed
            for parent, relation in parents.items():
                if parent not in current.lineage:
                    current.lineage.append(parent)
                    current.lineage_relations[parent] = relation
            current.recompute_generation()
            if current.status is AssetStatus.PROCESSING:
                current.status = AssetStatus.READY
            elif current.deleted_from is AssetStatus.PROCESSING:
                current.deleted_from = AssetStatus.READY
            return current

        return self._manifests.update(asset.workspace, asset.id, mutate)

    def _mark_failed(self, asset: Asset, reason: str) -> Asset:
        self._metrics.indexed("failed")

        def mutate(current: Asset) -> Asset | None:
            if current.status is not AssetStatus.PROCESSING:
                return None
            current.status = AssetStatus.FAILED
            current.error = reason
            return current

        return self._manifests.update(asset.workspace, asset.id, mutate)

    # -- vectors ----------------------------------------------------------------------------

    def _attach_vectors(self, docs: list[IndexDoc]) -> None:
        """Cached vectors where present; the rest embedded in one batch (if a model loads)."""
        embedder = self._embedder
        if embedder is None or not docs:
            return
        model = embedder.model_id if embedder.available() else None
        if model is None:
            return
        wanted: list[tuple[IndexDoc, Image.Image]] = []
        for doc in docs:
            asset = doc.asset
            if asset.type not in EMBEDDABLE or "medium" not in asset.previews:
                continue
            cached = self._cached_vector(asset.sha256, model)
            if cached is not None:
                doc.vector, doc.vector_model = cached, model
                continue
            image = self._preview_image(asset)
            if image is not None:
                wanted.append((doc, image))
        if not wanted:
            return
        try:
            vectors = embedder.embed_images([image for _, image in wanted])
        except EmbeddingUnavailable as exc:
            log.warning("indexing without vectors: %s", exc.detail)
            return
        for (doc, _), vector in zip(wanted, vectors, strict=True):
            doc.vector, doc.vector_model = vector, model
            self._store.put_bytes(layout.vector_key(doc.asset.sha256, model),
                                  json.dumps({"model": model, "vector": vector}).encode(),
                                  content_type="application/json")

    def _cached_vector(self, sha256: str, model: str) -> list[float] | None:
        try:
            data = json.loads(self._store.get_bytes(layout.vector_key(sha256, model)).data)
        except ObjectNotFound:
            return None
        return [float(x) for x in data["vector"]] if data.get("model") == model else None

    def _preview_image(self, asset: Asset) -> Image.Image | None:
        # The 600 px preview is plenty for CLIP's 224 px input and far cheaper than the original.
        try:
            data = self._store.get_bytes(asset.previews["medium"]).data
        except ObjectNotFound:
            return None
        with contextlib.suppress(OSError, ValueError):
            image = Image.open(io.BytesIO(data), formats=["WEBP"])
            image.load()
            return image.convert("RGB")
        return None

    # -- whole-library operations -----------------------------------------------------------

    def reconcile(self) -> ReconcileReport:
        """Find drift between store and index and repair it through the queue."""
        indexed = {(ws, asset_id): rev for ws, asset_id, rev in self._index.revisions()}
        enqueued = checked = 0
        for asset in self._manifests.iter_all():
            checked += 1
            key = (asset.workspace, asset.id)
            revision = indexed.pop(key, None)
            if revision is None or revision < asset.revision or \
                    asset.status is AssetStatus.PROCESSING:
                self._queue.enqueue(asset.workspace, asset.id)
                enqueued += 1
        for workspace, asset_id in indexed:
            self._index.remove(workspace, [asset_id])
        return ReconcileReport(enqueued=enqueued, removed=len(indexed), checked=checked)

    def reindex(self) -> int:
        """Rebuild the index from the store (re-embedding with the current model where no
        cached vector exists), switching to it only when complete."""
        return self._index.rebuild(self._docs_for_rebuild())

    def _docs_for_rebuild(self, batch: int = 32) -> Iterator[IndexDoc]:
        pending: list[IndexDoc] = []
        for asset in self._manifests.iter_all():
            if asset.status is AssetStatus.PROCESSING:
                self._queue.enqueue(asset.workspace, asset.id)
            pending.append(IndexDoc(asset=asset))
            if len(pending) >= batch:
                self._attach_vectors(pending)
                yield from pending
                pending = []
        self._attach_vectors(pending)
        yield from pending

