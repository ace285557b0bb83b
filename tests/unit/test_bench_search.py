"""bench_search's own arithmetic: the block-wise exact top 10 it measures recall against, and
a tiny end-to-end run through `rebuild` on the embedded backend."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmarks.bench_search import main
from benchmarks.exact import exact_top10
from benchmarks.synthetic import Corpus, query_vectors


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
