"""Application metrics: a registry per instance, the queue read at scrape time, and the
Metrics port recorded by the services."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from assetlens.metrics import TimedEmbedder
from assetlens.prometheus import PrometheusMetrics
from assetlens.workqueue import QueueSnapshot, WorkQueue
from tests.fakes import FakeEmbedder, FakeObjectStore
from tests.support.server import free_port


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def samples(metrics: PrometheusMetrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = metrics.render().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(metrics: PrometheusMetrics, name: str, **labels: str) -> float | None:
    return samples(metrics).get((name, frozenset(labels.items())))


def test_two_instances_count_apart() -> None:
    first, second = PrometheusMetrics("embedded"), PrometheusMetrics("embedded")
    first.uploaded(100)
    first.request("/v1/assets", "POST", 201, 0.01)
    assert value(first, "assetlens_upload_bytes_total") == 100
    assert value(second, "assetlens_upload_bytes_total") == 0
    assert (
        value(
            first, "assetlens_http_requests_total", route="/v1/assets", method="POST", status="201"
        )
        == 1
    )
    assert (
        value(
            second, "assetlens_http_requests_total", route="/v1/assets", method="POST", status="201"
        )
        is None
    )


def test_search_latency_is_labelled_with_mode_and_backend() -> None:
    metrics = PrometheusMetrics("elasticsearch")
    metrics.searched("hybrid", 0.2)
    assert (
        value(metrics, "assetlens_search_seconds_count", mode="hybrid", backend="elasticsearch")
        == 1
    )
    assert (
        value(metrics, "assetlens_search_seconds_sum", mode="hybrid", backend="elasticsearch")
        == 0.2
    )


def test_indexer_outcomes_start_at_zero_and_count() -> None:
    metrics = PrometheusMetrics("embedded")
    assert value(metrics, "assetlens_indexed_total", result="failed") == 0
    metrics.indexed("ok", 3)
    metrics.indexed("retry")
    assert value(metrics, "assetlens_indexed_total", result="ok") == 3
    assert value(metrics, "assetlens_indexed_total", result="retry") == 1


def test_the_queue_depth_and_oldest_age_are_read_at_scrape_time() -> None:
    store, clock = FakeObjectStore(), Clock()
    queue = WorkQueue(store, clock=clock)
    metrics = PrometheusMetrics("embedded")
    metrics.watch_queue(queue.snapshot, max_age_seconds=0)
    assert value(metrics, "assetlens_index_queue_depth") == 0
    assert value(metrics, "assetlens_index_queue_oldest_age_seconds") == 0
    queue.enqueue("ws", "a" * 32)
    clock.now += 30
    queue.enqueue("ws", "b" * 32)
    queue.enqueue("ws", "a" * 32)  # coalesced: still waiting since the first enqueue
    clock.now += 5
    assert value(metrics, "assetlens_index_queue_depth") == 2
    assert value(metrics, "assetlens_index_queue_oldest_age_seconds") == 35


def test_the_queue_is_read_at_most_once_per_cache_period() -> None:
    reads: list[int] = []

    def snapshot() -> QueueSnapshot:
        reads.append(1)
        return QueueSnapshot(len(reads), 0.0)

    metrics = PrometheusMetrics("embedded")
    metrics.watch_queue(snapshot, max_age_seconds=3600)
    metrics.render()
    metrics.render()
    assert len(reads) == 1
    assert value(metrics, "assetlens_index_queue_depth") == 1


def test_an_unreadable_queue_leaves_the_rest_of_the_scrape_intact() -> None:
    store = FakeObjectStore()
    metrics = PrometheusMetrics("embedded")
    metrics.watch_queue(WorkQueue(store).snapshot, max_age_seconds=0)
    metrics.uploaded(5)
    store.down = True
    assert value(metrics, "assetlens_upload_bytes_total") == 5
    assert value(metrics, "assetlens_index_queue_depth") is None


def test_the_timed_embedder_reports_each_batch_and_passes_vectors_through() -> None:
    metrics = PrometheusMetrics("embedded")
    inner = FakeEmbedder()
    timed = TimedEmbedder(inner, metrics)
    assert timed.embed_texts(["red", "blue"]) == inner.embed_texts(["red", "blue"])
    assert timed.model_id == inner.model_id
    assert value(metrics, "assetlens_embedder_batch_seconds_count", kind="text") == 1
    assert value(metrics, "assetlens_embedded_items_total", kind="text") == 2


def test_a_worker_serves_its_registry_on_a_port_of_its_own() -> None:
    metrics = PrometheusMetrics("elasticsearch")
    metrics.indexed("ok", 7)
    server = metrics.serve("127.0.0.1", free_port())
    try:
        host, port = server.server_address[:2]
        text = httpx.get(f"http://{host!s}:{port}/metrics").text
    finally:
        server.shutdown()
        server.server_close()
    assert 'assetlens_indexed_total{result="ok"} 7.0' in text


def test_a_snapshot_counts_every_item_but_reads_only_a_sample() -> None:
    store, clock = FakeObjectStore(), Clock()
    queue = WorkQueue(store, clock=clock)
    for n in range(3):
        queue.enqueue("ws", f"{n:032d}")
        clock.now += 10
    assert queue.snapshot(sample=1) == QueueSnapshot(3, 30.0)  # the first listed waited 30 s
    assert queue.snapshot() == QueueSnapshot(3, 30.0)


def test_request_methods_outside_http_count_as_other() -> None:
    """The method is the client's text (h11 takes any token): label values from it stay
    a fixed set, or every made-up method would be a new series held for ever."""
    metrics = PrometheusMetrics("embedded")
    for index in range(50):
        metrics.request("unmatched", f"M{index}", 405, 0.001)
    metrics.request("/v1/assets", "PATCH", 200, 0.001)
    methods = {
        labels
        for (name, labels), _ in samples(metrics).items()
        if name == "assetlens_http_requests_total"
    }
    assert methods == {
        frozenset({("route", "unmatched"), ("method", "other"), ("status", "405")}),
        frozenset({("route", "/v1/assets"), ("method", "PATCH"), ("status", "200")}),
    }
    assert (
        value(
            metrics,
            "assetlens_http_requests_total",
            route="unmatched",
            method="other",
            status="405",
        )
        == 50
    )
