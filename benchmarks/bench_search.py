"""Search benchmark over the SearchIndex port, for any backend.

    python -m benchmarks.bench_search --backend embedded --n 10000 --out results.json
    python -m benchmarks.bench_search --backend elasticsearch --es-url http://127.0.0.1:9200

Fills an index with N synthetic assets (benchmarks.synthetic), then measures latency of
keyword+facets, kNN, filtered kNN and hybrid (keyword + kNN fused by reciprocal rank, as the
API does), kNN recall@10 against exact numpy search, and indexing throughput. Only the
SearchIndex protocol is used, so every backend is measured the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from assetlens.domain import AssetType
from assetlens.ports import SearchIndex
from assetlens.query import Facet, Filters, SearchQuery, VectorQuery
from benchmarks.synthetic import (
    TAGS,
    VECTOR_MODEL,
    WORKSPACE,
    Corpus,
    asset_id,
    keyword_queries,
    query_vectors,
)

RRF_K = 60
FACETS = [Facet.TYPE, Facet.TAGS, Facet.MODEL, Facet.CREATED]


def _embedded(args: argparse.Namespace) -> SearchIndex:
    from indexer.embedded import EmbeddedSearchIndex
    from indexer.embedded.ann import AnnSettings

    path = Path(args.path) if args.path else Path(tempfile.mkdtemp(prefix="bench-index-"))
    # Folds inside the query: the first kNN past the threshold builds the HNSW graph (and is
    # reported as knn_first_query_ms); every later one uses it.
    threshold = AnnSettings().threshold if args.ann_threshold is None else args.ann_threshold
    return EmbeddedSearchIndex(path, ann=AnnSettings(threshold=threshold, background=False))


def _elasticsearch(args: argparse.Namespace) -> SearchIndex:
    from assetlens.config import IndexBackend, Settings
    from indexer.elasticsearch import ElasticsearchIndex

    settings = Settings(
        _env_file=None, index_backend=IndexBackend.ELASTICSEARCH, es_url=args.es_url,
        es_index=args.es_index,
    )
    index = ElasticsearchIndex.from_settings(settings)
    index.drop()  # a fresh index each run: a second run would otherwise measure overwrites
    return index


BACKENDS: dict[str, Callable[[argparse.Namespace], SearchIndex]] = {
    "embedded": _embedded,
    "elasticsearch": _elasticsearch,
}


def rrf(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> list[str]:
    """Reciprocal rank fusion: score(d) = Σ 1/(k + rank); ties by id."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, doc_id in enumerate(ranking, start=1):
            scores[doc_id] = scores.get(doc_id, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda d: (-scores[d], d))


def _timed(fn: Callable[[int], None], count: int) -> list[float]:
    """Milliseconds taken by fn(0) … fn(count - 1), each timed alone."""
    out = []
    for i in range(count):
        t = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t) * 1000)
    return out


def _stats(ms: list[float]) -> dict[str, float]:
    qs = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "p50_ms": round(qs[49], 2),
        "p95_ms": round(qs[94], 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }


def fill(index: SearchIndex, corpus: Corpus, batch: int) -> dict[str, float]:
    """Index the corpus; returns docs/s (document building excluded from the timing)."""
    spent = 0.0
    for docs in corpus.docs(chunk=batch):
        t = time.perf_counter()
        index.upsert(docs)
        spent += time.perf_counter() - t
    t = time.perf_counter()
    index.refresh()
    spent += time.perf_counter() - t
    return {"docs": corpus.n, "seconds": round(spent, 2), "docs_per_s": round(corpus.n / spent, 1)}


def run(index: SearchIndex, corpus: Corpus, queries: int, batch: int) -> dict[str, Any]:
    index.ensure()
    results: dict[str, Any] = {"indexing": fill(index, corpus, batch)}
    texts = keyword_queries(queries)
    qvecs = query_vectors(corpus, queries)
    rng = np.random.default_rng(5)
    tag_filters = [TAGS[int(i)] for i in rng.integers(0, len(TAGS), queries)]

    t = time.perf_counter()
    index.knn(VectorQuery(workspace=WORKSPACE, vector=qvecs[0].tolist(), model=VECTOR_MODEL))
    results["knn_first_query_ms"] = round((time.perf_counter() - t) * 1000, 1)

    def vq(i: int, k: int, filters: Filters | None = None) -> VectorQuery:
        return VectorQuery(
            workspace=WORKSPACE, vector=qvecs[i].tolist(), model=VECTOR_MODEL, k=k,
            filters=filters or Filters(),
        )  # fmt: skip

    def keyword(i: int) -> None:
        index.search(SearchQuery(workspace=WORKSPACE, text=texts[i], facets=FACETS, limit=20))

    def knn(i: int) -> None:
        index.knn(vq(i, 10))

    def knn_filtered(i: int) -> None:
        index.knn(vq(i, 10, Filters(type=[AssetType.IMAGE], tags=[tag_filters[i]])))

    def hybrid(i: int) -> None:
        page = index.search(SearchQuery(workspace=WORKSPACE, text=texts[i], limit=50))
        near = index.knn(vq(i, 50))
        rrf([[h.asset.id for h in page.hits], [h.asset.id for h in near]])[:20]

    measures: dict[str, Callable[[int], None]] = {
        "keyword_facets": keyword,
        "knn_k10": knn,
        "knn_k10_filtered": knn_filtered,
        "hybrid_rrf": hybrid,
    }
    for name, fn in measures.items():
        results[name] = _stats(_timed(fn, queries))
    results["knn_recall_at_10"] = recall_at_10(index, corpus, qvecs[: min(queries, 100)])
    return results


def recall_at_10(index: SearchIndex, corpus: Corpus, qvecs: npt.NDArray[np.float32]) -> float:
    """Mean overlap of the index's top 10 with exact top 10 (numpy over all vectors)."""
    matrix = corpus.all_vectors()
    total = 0.0
    for q in qvecs:
        exact = {asset_id(int(i)) for i in np.argsort(-(matrix @ q))[:10]}
        hits = index.knn(
            VectorQuery(workspace=WORKSPACE, vector=q.tolist(), model=VECTOR_MODEL, k=10)
        )
        total += len(exact & {h.asset.id for h in hits}) / 10
    return round(total / len(qvecs), 4)


def markdown(backend: str, n: int, results: dict[str, Any]) -> str:
    rows = [
        f"### {backend}, {n:,} assets",
        "",
        "| measure | p50 ms | p95 ms | mean ms |",
        "|---|---:|---:|---:|",
    ]
    for key in ("keyword_facets", "knn_k10", "knn_k10_filtered", "hybrid_rrf"):
        s = results[key]
        rows.append(f"| {key} | {s['p50_ms']} | {s['p95_ms']} | {s['mean_ms']} |")
    idx = results["indexing"]
    rows += [
        "",
        f"- indexing: {idx['docs_per_s']} docs/s ({idx['docs']} docs in {idx['seconds']} s)",
        f"- first kNN query (loads vectors): {results['knn_first_query_ms']} ms",
        f"- kNN recall@10 vs exact: {results['knn_recall_at_10']}",
    ]
    return "\n".join(rows)


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--backend", choices=sorted(BACKENDS), default="embedded")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--path", help="embedded: index directory (default: a temp dir)")
    parser.add_argument("--ann-threshold", type=int,
                        help="embedded: vectors per workspace+model past which kNN uses HNSW")
    parser.add_argument("--es-url", default="http://127.0.0.1:9200")
    parser.add_argument("--es-index", default="assetlens-bench")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)

    corpus = Corpus(n=args.n, dim=args.dim)
    index = BACKENDS[args.backend](args)
    try:
        results = run(index, corpus, args.queries, args.batch)
    finally:
        index.close()
    print(markdown(args.backend, args.n, results))
    if args.out:
        report = {"backend": args.backend, "n": args.n, "dim": args.dim, "machine": machine(),
                  "results": results}  # fmt: skip
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
