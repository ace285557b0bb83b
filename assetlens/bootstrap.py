"""The one wiring point: builds adapters and services from settings.

Adapters are imported here, lazily, so the core never depends on them and nothing heavy
(torch, the Elasticsearch client) is imported unless the settings ask for it. Tests pass
their own adapters (fakes or real ones) instead.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from assetlens.apikeys import ApiKeys
from assetlens.collections import CollectionDocs
from assetlens.config import IndexBackend, Settings, StoreBackend
from assetlens.media.pool import AnalysisPool, default_workers
from assetlens.media.proofs import InProcessProver, ProofPool
from assetlens.metrics import TimedEmbedder
from assetlens.ports import Embedder, ObjectStore, SearchIndex, UploadProver
from assetlens.prometheus import PrometheusMetrics
from assetlens.services.assets import AssetService
from assetlens.services.blobs import BlobService
from assetlens.services.bulk import BulkService
from assetlens.services.collections import CollectionService
from assetlens.services.duplicate_policy import DuplicatePolicyService
from assetlens.services.duplicates import DuplicateService
from assetlens.services.folders import FolderService
from assetlens.services.idempotency import IdempotencyService
from assetlens.services.indexing import Indexer
from assetlens.services.lineage import LineageService
from assetlens.services.links import LinkService
from assetlens.services.maintenance import Maintenance
from assetlens.services.references import ReferenceService
from assetlens.services.search import SearchService
from assetlens.services.stats import StatsService
from assetlens.services.tags import TagService
from assetlens.services.trash import TrashService
from assetlens.services.url_import import UrlImportService
from assetlens.services.usage import UsageService
from assetlens.services.versions import VersionService
from assetlens.sessions import Sessions
from assetlens.signing import SigningSecret
from assetlens.throttle import ConcurrencyLimiter, RateLimiter
from assetlens.tracing import Tracing, build_tracing
from assetlens.urlfetch import AddressPolicy, UrlFetcher
from assetlens.workqueue import WorkQueue

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger(__name__)


@dataclass
class Container:
    settings: Settings
    store: ObjectStore
    index: SearchIndex
    embedder: Embedder | None
    queue: WorkQueue
    keys: ApiKeys
    sessions: Sessions
    assets: AssetService
    idempotency: IdempotencyService
    blobs: BlobService
    search: SearchService
    duplicates: DuplicateService
    indexer: Indexer
    bulk: BulkService
    collections: CollectionService
    folders: FolderService
    tags: TagService
    references: ReferenceService
    lineage: LineageService
    duplicate_policy: DuplicatePolicyService
    versions: VersionService
    trash: TrashService
    maintenance: Maintenance
    usage: UsageService
    stats: StatsService
    links: LinkService
    url_import: UrlImportService
    # Operations (docs/OPERATIONS.md): metrics, tracing (None when off), and the limits.
    metrics: PrometheusMetrics
    tracing: Tracing | None
    rate_limiter: RateLimiter
    upload_slots: ConcurrencyLimiter
    # Where uploads are proven (worker processes unless `proof_workers` is 0).
    prover: UploadProver = field(default_factory=InProcessProver)
    _worker: threading.Thread | None = field(default=None, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def start_indexer_thread(self) -> None:
        """Run the indexer inside this process (embedded mode's `serve`)."""
        if self._worker is not None:
            return
        self._stop.clear()
        self._worker = threading.Thread(
            target=self.indexer.run, args=(self._stop,), name="assetlens-indexer", daemon=True
        )
        self._worker.start()

    def sweep_spool(self, older_than: timedelta = timedelta(hours=1)) -> int:
        """Remove upload and indexer temp files left by a killed process."""
        removed = 0
        cutoff = time.time() - older_than.total_seconds()
        for folder in ("uploads", "indexer"):
            for path in (self.settings.data_dir / "tmp" / folder).glob("*"):
                with contextlib.suppress(OSError):
                    if path.is_file() and path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
        return removed

    def preload_embedder(self) -> None:
        """Load the CLIP model in the background so no request pays for it."""
        if self.embedder is not None:
            threading.Thread(
                target=self.embedder.available, name="assetlens-clip-load", daemon=True
            ).start()

    def preload_prover(self) -> None:
        """Start the proof's worker processes in the background, so no upload waits for
        them (they also start at the first upload)."""
        threading.Thread(
            target=self._start_prover, name="assetlens-proof-start", daemon=True
        ).start()

    def _start_prover(self) -> None:
        try:
            self.prover.start()
        except Exception:  # then they start with the first upload
            log.warning("could not start the proof workers ahead", exc_info=True)

    def preload_index(self) -> None:
        """Have the index read ahead what the first queries need, in the background."""
        self.index.read_ahead()

    def stop_indexer_thread(self) -> None:
        """Stop the in-process indexer (and its scheduled jobs), if running, and wait."""
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout=30)
            self._worker = None

    def close(self) -> None:
        self.stop_indexer_thread()
        self.indexer.close()
        self.usage.close()
        self.prover.close()
        self.index.close()
        if self.tracing is not None:
            self.tracing.close()


def analysis_pool(settings: Settings) -> AnalysisPool | None:
    """The indexer's worker processes; None when one worker is all it may use."""
    workers = settings.indexer_workers or default_workers()
    return AnalysisPool(workers) if workers > 1 else None


def build_prover(settings: Settings) -> UploadProver:
    """Where uploads are proven: worker processes (a decoder crash refuses the file, not the
    process), one per core and at least 2 (so one long proof, an animated GIF's decode,
    leaves a worker free) unless `proof_workers` says otherwise; 0 = in this process."""
    if settings.proof_workers == 0:
        return InProcessProver()
    return ProofPool(
        settings.proof_workers or max(2, default_workers()),
        timeout=settings.proof_timeout_seconds,
    )


def build_store(settings: Settings) -> ObjectStore:
    if settings.store_backend is StoreBackend.S3:
        from storage.s3 import S3ObjectStore

        return S3ObjectStore.from_settings(settings)
    from storage.local import LocalObjectStore

    store = LocalObjectStore(settings.data_dir / "store")
    store.sweep_temp(older_than=timedelta(hours=1))
    return store


def build_index(settings: Settings) -> SearchIndex:
    if settings.index_backend is IndexBackend.ELASTICSEARCH:
        from indexer.elasticsearch import ElasticsearchIndex

        return ElasticsearchIndex.from_settings(settings)
    from indexer.embedded import EmbeddedSearchIndex
    from indexer.embedded.ann import AnnSettings

    ann = AnnSettings(
        threshold=settings.embedded_ann_threshold, fold_after=settings.embedded_ann_fold_after
    )
    return EmbeddedSearchIndex(
        settings.data_dir / "index", engine=settings.embedded_search_engine.value, ann=ann
    )


def build_embedder(settings: Settings) -> Embedder | None:
    if not settings.clip_enabled:
        return None
    from embeddings.open_clip_embedder import OpenClipEmbedder

    return OpenClipEmbedder(settings)


def build_fetcher(settings: Settings) -> UrlFetcher:
    """The URL import's fetcher: public addresses only (plus the configured allow-list),
    spooling where uploads spool."""
    return UrlFetcher(
        AddressPolicy(settings.url_import_allow_private),
        timeout=settings.url_import_timeout_seconds,
        spool_dir=settings.data_dir / "tmp" / "uploads",
    )


def build(
    settings: Settings | None = None,
    *,
    store: ObjectStore | None = None,
    index: SearchIndex | None = None,
    embedder: Embedder | None = None,
    use_embedder: bool = True,
    prover: UploadProver | None = None,
    span_exporter: SpanExporter | None = None,
) -> Container:
    """Everything the API, the worker and the CLI need, from settings or given adapters.
    `span_exporter` turns tracing on with that exporter (tests); otherwise tracing is on
    when an OTLP endpoint is configured. `prover`: where uploads are proven (tests pass one
    that crashes), else `build_prover`'s."""
    settings = settings or Settings()
    store = store or build_store(settings)
    index = index or build_index(settings)
    if embedder is None and use_embedder:
        embedder = build_embedder(settings)
    metrics = PrometheusMetrics(backend=settings.index_backend.value)
    if embedder is not None:
        embedder = TimedEmbedder(embedder, metrics)
    queue = WorkQueue(store, lease_seconds=settings.indexer_lease_seconds)
    metrics.watch_queue(queue.snapshot)
    duplicate_policy = DuplicatePolicyService(settings, store, index, embedder)
    blobs = BlobService(store)
    prover = prover or build_prover(settings)
    assets = AssetService(
        settings,
        store,
        index,
        queue,
        blobs,
        duplicate_policy=duplicate_policy,
        metrics=metrics,
        prover=prover,
    )
    search = SearchService(index, embedder, assets.manifests, assets.folders, metrics=metrics)
    keys = ApiKeys(store)
    versions = VersionService(settings, store, assets, blobs, metrics=metrics)
    trash = TrashService(settings, store, assets, search)
    maintenance = Maintenance(
        store,
        assets.manifests,
        versions,
        blobs,
        interval_seconds=settings.reconcile_interval_seconds,
    )
    usage = UsageService(
        store,
        flush_seconds=settings.usage_flush_seconds,
        fold_interval_seconds=settings.usage_fold_interval_seconds,
        max_buffered=settings.usage_max_buffered,
    )
    configured = settings.signing_secret
    secret = SigningSecret(store, configured.get_secret_value().encode() if configured else None)
    idempotency = IdempotencyService(settings, store, assets)
    return Container(
        settings=settings,
        store=store,
        index=index,
        embedder=embedder,
        queue=queue,
        keys=keys,
        sessions=Sessions(store, keys, timedelta(seconds=settings.session_ttl_seconds)),
        assets=assets,
        idempotency=idempotency,
        blobs=blobs,
        search=search,
        duplicates=DuplicateService(store, assets.manifests, search),
        indexer=Indexer(
            settings,
            store,
            index,
            queue,
            embedder,
            pool=analysis_pool(settings),
            jobs=[
                maintenance.run_if_due,
                trash.purge_if_due,
                usage.fold_if_due,
                idempotency.sweep_if_due,
            ],
            metrics=metrics,
        ),
        bulk=BulkService(settings, assets, search),
        collections=CollectionService(CollectionDocs(store), assets, search),
        folders=FolderService(settings, index, assets),
        tags=TagService(index, assets),
        references=ReferenceService(store, assets),
        lineage=assets.lineage,
        duplicate_policy=duplicate_policy,
        versions=versions,
        trash=trash,
        maintenance=maintenance,
        usage=usage,
        stats=StatsService(index, usage, assets.manifests, store),
        links=LinkService(settings, store, assets, versions, secret),
        url_import=UrlImportService(settings, assets, build_fetcher(settings)),
        metrics=metrics,
        tracing=build_tracing(settings, span_exporter),
        rate_limiter=RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
        upload_slots=ConcurrencyLimiter(settings.max_concurrent_uploads),
        prover=prover,
    )
