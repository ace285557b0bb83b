"""The Prometheus side of `Metrics`, plus the HTTP metrics the API records.

Every instrument lives in the registry of one `PrometheusMetrics` (never the process-wide
default registry), so two apps in one process (tests) count apart. `/metrics` renders it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from assetlens.workqueue import QueueSnapshot

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Seconds; from a cached manifest read to a slow hybrid search or a big upload.
_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# The request methods counted by name (RFC 9110 and PATCH); any other the client makes up
# counts as `other`, so label values stay a fixed set.
_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)


class PrometheusMetrics:
    """Application metrics in their own registry; `backend` labels search latency."""

    def __init__(self, backend: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._backend = backend
        r = self.registry
        self.http_requests = Counter(
            "assetlens_http_requests",
            "HTTP requests answered, by route template",
            ["route", "method", "status"],
            registry=r,
        )
        self.http_seconds = Histogram(
            "assetlens_http_request_duration_seconds",
            "HTTP request duration",
            ["route", "method"],
            buckets=_LATENCY,
            registry=r,
        )
        self.upload_bytes = Counter(
            "assetlens_upload_bytes", "Bytes of uploads and URL imports stored", registry=r
        )
        self.indexed_items = Counter(
            "assetlens_indexed",
            "Indexer outcomes per queue item (ok, retry, failed)",
            ["result"],
            registry=r,
        )
        self.search_seconds = Histogram(
            "assetlens_search_seconds",
            "Search latency by mode and index backend",
            ["mode", "backend"],
            buckets=_LATENCY,
            registry=r,
        )
        self.embedder_seconds = Histogram(
            "assetlens_embedder_batch_seconds",
            "Time to embed one batch",
            ["kind"],
            buckets=_LATENCY,
            registry=r,
        )
        self.embedder_items = Counter(
            "assetlens_embedded_items", "Images and texts embedded", ["kind"], registry=r
        )
        for result in ("ok", "retry", "failed"):
            self.indexed_items.labels(result)  # present at 0 from the first scrape

    # -- Metrics (the core's port) -----------------------------------------------------------

    def uploaded(self, size_bytes: int) -> None:
        self.upload_bytes.inc(size_bytes)

    def indexed(self, result: str, count: int = 1) -> None:
        self.indexed_items.labels(result).inc(count)

    def searched(self, mode: str, seconds: float) -> None:
        self.search_seconds.labels(mode, self._backend).observe(seconds)

    def embedded(self, kind: str, size: int, seconds: float) -> None:
        self.embedder_seconds.labels(kind).observe(seconds)
        self.embedder_items.labels(kind).inc(size)

    # -- the API's own -----------------------------------------------------------------------

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        """One answered request, by route template (bounded by the caller), method and
        status."""
        method = method if method in _METHODS else "other"
        self.http_requests.labels(route, method, str(status)).inc()
        self.http_seconds.labels(route, method).observe(seconds)

    def watch_queue(
        self, snapshot: Callable[[], QueueSnapshot], *, max_age_seconds: float = 10.0
    ) -> None:
        """Report the indexing queue's depth and oldest item at scrape time (cached for
        `max_age_seconds`: a scrape reads queue objects, and scrapers may be many)."""
        self.registry.register(_QueueCollector(snapshot, max_age_seconds))

    def render(self) -> bytes:
        """The text exposition format of everything in the registry."""
        return generate_latest(self.registry)

    def serve(self, host: str, port: int) -> WSGIServer:
        """Serve this registry on `http://host:port/metrics` from a daemon thread: the
        indexer worker's own endpoint (it has no API). Call `shutdown()` on the result to
        stop."""
        server, _ = start_http_server(port, addr=host, registry=self.registry)
        return server


class _QueueCollector(Collector):
    def __init__(self, snapshot: Callable[[], QueueSnapshot], max_age: float) -> None:
        self._snapshot = snapshot
        self._max_age = max_age
        self._cached: tuple[float, QueueSnapshot] | None = None

    def describe(self) -> Iterator[Metric]:
        return iter(())  # no store reads at registration

    def collect(self) -> Iterator[Metric]:
        now = time.monotonic()
        if self._cached is None or now - self._cached[0] > self._max_age:
            try:
                self._cached = (now, self._snapshot())
            except Exception as exc:  # a store outage must not break the whole scrape
                log.warning("index queue not readable for metrics: %s", exc)
                return
        snapshot = self._cached[1]
        depth = GaugeMetricFamily("assetlens_index_queue_depth", "Assets waiting to be (re)indexed")
        depth.add_metric([], snapshot.depth)
        yield depth
        age = GaugeMetricFamily(
            "assetlens_index_queue_oldest_age_seconds",
            "Age of the oldest waiting item (0 when empty)",
        )
        age.add_metric([], snapshot.oldest_age_seconds)
        yield age
