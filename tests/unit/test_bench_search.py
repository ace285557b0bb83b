"""bench_search's own arithmetic: the block-wise exact top 10 it measures recall against, a
tiny end-to-end run through `rebuild` on the embedded backend, and that `--warmup` queries
run untimed (on a fake clock)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assetlens.query import Hit, SearchPage, SearchQuery, VectorQuery
from benchmarks.bench_search import fill, main, measure
from benchmarks.exact import exact_top10
from benchmarks.synthetic import Corpus, query_vectors
from indexer.embedded import EmbeddedSearchIndex


def test_exact_top10_in_blocks_equals_one_pass_over_all_vectors() -> None:
    corpus = Corpus(n=2_345, dim=16)
    queries = query_vectors(corpus, 7)
    expected = np.argsort(-(queries @ corpus.all_vectors().T), axis=1, kind="stable")[:, :10]
    assert (exact_top10(corpus, queries, block=500) == expected).all()


def test_a_rebuild_run_reports_indexing_latencies_and_recall(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    main(["--backend", "embedded", "--n", "300", "--dim", "16", "--queries", "5",
          "--fill", "rebuild", "--path", str(tmp_path / "index"), "--out", str(out)])  # fmt: skip
    results = json.loads(out.read_text())["results"]
    assert results["indexing"]["docs"] == 300
    assert results["indexing"]["build_docs_per_s"] > 0
    assert results["knn_recall_at_10"] >= 0.9  # exact search today; an ANN would be close
    assert set(results["keyword_facets"]) == {"p50_ms", "p95_ms", "mean_ms"}
    # The embedded index's catch-up wait and a fresh process's first queries (vector file).
    assert results["catch_up_s"] >= 0
    assert results["fresh_process"]["knn_first_ms"] > 0
    assert results["fresh_process"]["peak_rss_mb"] > 0


class ColdThenWarm(EmbeddedSearchIndex):
    """An embedded index on a fake clock: a query costs COLD_S the first time it is asked
    and WARM_S after (as with pages faulted in once), so a figure that took in a warm-up
    query, or a cold one, shows it. Counts the calls."""

    COLD_S, WARM_S = 0.5, 0.002

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.now = 0.0
        self.calls = 0
        self._seen: set[str] = set()

    def clock(self) -> float:
        return self.now

    def _cost(self, query: SearchQuery | VectorQuery) -> None:
        key = f"{type(query).__name__}:{query.model_dump_json()}"
        self.now += self.WARM_S if key in self._seen else self.COLD_S
        self._seen.add(key)
        self.calls += 1

    def search(self, query: SearchQuery) -> SearchPage:
        self._cost(query)
        return super().search(query)

    def knn(self, query: VectorQuery) -> list[Hit]:
        self._cost(query)
        return super().knn(query)


TIMED = ("keyword_facets", "knn_k10", "knn_k10_filtered", "hybrid_rrf")


def _cold_then_warm(tmp_path: Path, corpus: Corpus) -> ColdThenWarm:
    index = ColdThenWarm(tmp_path / "index")
    index.ensure()
    fill(index, corpus, batch=100)
    index.settle()
    return index


@pytest.mark.parametrize("warmup", [0, 4, 9])
def test_warm_up_queries_run_untimed_and_stay_out_of_the_figures(
    tmp_path: Path, warmup: int
) -> None:
    corpus, queries = Corpus(n=200, dim=16), 4
    index = _cold_then_warm(tmp_path, corpus)
    try:
        results = measure(index, corpus, queries, warmup=warmup, clock=index.clock)
    finally:
        index.close()
    # Every warm-up query ran: two first queries, then per kind (hybrid asks twice) the
    # warm-up and the timed ones, then the recall's kNN.
    assert index.calls == 2 + 5 * (warmup + queries) + queries
    # Cold queries are timed once each, outside the figures.
    assert results["keyword_first_query_ms"] == results["knn_first_query_ms"] == 500.0
    if warmup >= queries:
        # Each timed query was asked in the warm-up (untimed), and only the timed ones count.
        warm = {name: {"p50_ms": 2.0, "p95_ms": 2.0, "mean_ms": 2.0} for name in TIMED}
        warm["hybrid_rrf"] = {"p50_ms": 4.0, "p95_ms": 4.0, "mean_ms": 4.0}
        assert {name: results[name] for name in TIMED} == warm
    else:
        # Fewer warm-up queries than timed ones: the figures show the cold ones among them.
        assert all(results[name]["p95_ms"] >= 500.0 for name in TIMED)
