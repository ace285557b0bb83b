"""Search benchmark over the SearchIndex port, for any backend.

    python -m benchmarks.bench_search --backend embedded --n 10000 --out results.json
    python -m benchmarks.bench_search --backend elasticsearch --es-url http://127.0.0.1:9200
    python -m benchmarks.bench_search --backend embedded --engine both --n 100000
    python -m benchmarks.bench_search --backend elasticsearch --n 1000000 --fill rebuild \
        --es-url http://127.0.0.1:9250 --reuse --force-merge --out es-1m.json

`--engine both` fills one embedded index and measures it with each keyword engine (tantivy,
then SQLite FTS5 alone) in the same run: compared on one machine at one moment.

Fills an index with N synthetic assets (benchmarks.synthetic), then measures latency of
keyword+facets, kNN, filtered kNN and hybrid (keyword + kNN fused by reciprocal rank, as the
API does), kNN recall@10 against exact numpy search, and indexing throughput, through the
SearchIndex protocol (the embedded index's catch-up wait aside), the same for every backend.

`--fill upsert` indexes through `upsert` in batches (how the indexer worker writes);
`--fill rebuild` through `rebuild` (what `assetlens reindex` does: for Elasticsearch, a new
index bulk-loaded with refresh and replicas off). Elasticsearch only: `--reuse` measures an
index that already holds N documents without filling it again; `--force-merge` merges it to
one segment and measures again; heap and disk are reported from the node's stats. Embedded
only: the background catch-up after the fill is timed, and a fresh process's first queries
(benchmarks.first_query). Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from assetlens.domain import AssetType
from assetlens.filters import Facet, Filters
from assetlens.ports import SearchIndex
from assetlens.query import IndexDoc, SearchQuery, VectorQuery
from benchmarks.exact import exact_top10
from benchmarks.first_query import in_fresh_process
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

    if not args.path:
        args.path = tempfile.mkdtemp(prefix="bench-index-")
    engine = "tantivy" if args.engine == "both" else args.engine
    # As served: the upkeep thread catches the keyword index, vector files and HNSW graph up
    # after the fill (reported as catch_up_s), before the queries are measured.
    threshold = AnnSettings().threshold if args.ann_threshold is None else args.ann_threshold
    return EmbeddedSearchIndex(Path(args.path), engine=engine, ann=AnnSettings(threshold=threshold))


def _elasticsearch(args: argparse.Namespace) -> SearchIndex:
    from assetlens.config import IndexBackend, Settings
    from indexer.elasticsearch import ElasticsearchIndex

    settings = Settings(
        _env_file=None,
        index_backend=IndexBackend.ELASTICSEARCH,
        es_url=args.es_url,
        es_index=args.es_index,
    )
    index = ElasticsearchIndex.from_settings(settings)
    if not args.reuse:
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


Clock = Callable[[], float]  # seconds, like time.perf_counter


def _timed(fn: Callable[[int], None], count: int, clock: Clock = time.perf_counter) -> list[float]:
    """Milliseconds taken by fn(0) … fn(count - 1), each timed alone."""
    out = []
    for i in range(count):
        t = clock()
        fn(i)
        out.append((clock() - t) * 1000)
    return out


def _stats(ms: list[float]) -> dict[str, float]:
    qs = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "p50_ms": round(qs[49], 2),
        "p95_ms": round(qs[94], 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }


def log(message: str) -> None:
    """A progress line on stderr, with the time and the load average."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{time.strftime('%H:%M:%S')} [load {load}] {message}", file=sys.stderr, flush=True)


def _progress(docs: Iterable[IndexDoc], total: int, every: int) -> Iterator[IndexDoc]:
    started = time.perf_counter()
    for i, doc in enumerate(docs, start=1):
        yield doc
        if i % every == 0 or i == total:
            rate = i / (time.perf_counter() - started)
            log(f"{i:,}/{total:,} docs read, {rate:,.0f} docs/s")


def build_rate(corpus: Corpus, sample: int = 5000) -> float:
    """Docs/s at which this process builds synthetic docs alone (part of a rebuild's time)."""
    t = time.perf_counter()
    built = sum(len(docs) for docs in Corpus(n=min(sample, corpus.n), dim=corpus.dim).docs())
    return round(built / (time.perf_counter() - t), 1)


def fill_rebuild(index: SearchIndex, corpus: Corpus) -> dict[str, float]:
    """Index the corpus with `rebuild`: building the docs runs on this thread while the
    backend indexes, so the rate is end to end (`build_docs_per_s` says what building
    alone allows)."""
    every = max(1000, corpus.n // 20)
    docs = (doc for chunk in corpus.docs() for doc in chunk)
    t = time.perf_counter()
    count = index.rebuild(_progress(docs, corpus.n, every))
    spent = time.perf_counter() - t
    return {"docs": count, "seconds": round(spent, 2), "docs_per_s": round(count / spent, 1),
            "build_docs_per_s": build_rate(corpus)}  # fmt: skip


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


def run(
    index: SearchIndex,
    corpus: Corpus,
    queries: int,
    batch: int,
    how: str = "upsert",
    warmup: int = 0,
) -> dict[str, Any]:
    """Fill the index (`how`: upsert, rebuild, or skip: already filled), measure."""
    index.ensure()
    results: dict[str, Any] = {}
    if how == "rebuild":
        results["indexing"] = fill_rebuild(index, corpus)
    elif how == "upsert":
        results["indexing"] = fill(index, corpus, batch)
    log(f"indexing: {results.get('indexing', 'skipped (reused)')}")
    if (settle := getattr(index, "settle", None)) is not None:  # embedded: tantivy, graph…
        t = time.perf_counter()
        settle()  # the background catch-up a server runs between a bulk fill and queries
        results["catch_up_s"] = round(time.perf_counter() - t, 1)
    return results | measure(index, corpus, queries, warmup)


def measure(
    index: SearchIndex, corpus: Corpus, queries: int, warmup: int = 0,
    clock: Clock = time.perf_counter,
) -> dict[str, Any]:  # fmt: skip
    """Latency of each query kind (after `warmup` untimed queries of that kind) and kNN
    recall@10 on a filled index. `clock` is for the tests."""
    results: dict[str, Any] = {}
    texts = keyword_queries(queries)
    # The first search after the fill: for the tantivy engine it builds the keyword index.
    t = clock()
    index.search(SearchQuery(workspace=WORKSPACE, text=texts[0], limit=1))
    results["keyword_first_query_ms"] = round((clock() - t) * 1000, 1)
    qvecs = query_vectors(corpus, queries)
    rng = np.random.default_rng(5)
    tag_filters = [TAGS[int(i)] for i in rng.integers(0, len(TAGS), queries)]

    t = clock()
    index.knn(VectorQuery(workspace=WORKSPACE, vector=qvecs[0].tolist(), model=VECTOR_MODEL))
    results["knn_first_query_ms"] = round((clock() - t) * 1000, 1)
    if (settle := getattr(index, "settle", None)) is not None:
        settle()  # a graph or vector file that first kNN asked for (--filled without them)

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
        for i in range(warmup):  # untimed: pages the index's files in (cold is timed above)
            fn(i % queries)
        results[name] = _stats(_timed(fn, queries, clock))
        log(f"{name}: {results[name]}")
    results["knn_recall_at_10"] = recall_at_10(index, corpus, qvecs[: min(queries, 100)])
    return results


def recall_at_10(index: SearchIndex, corpus: Corpus, qvecs: npt.NDArray[np.float32]) -> float:
    """Mean overlap of the index's top 10 with the exact top 10 (numpy over all vectors,
    a block at a time so 1M vectors need not be in memory at once)."""
    exact = exact_top10(corpus, qvecs)
    total = 0.0
    for q, best in zip(qvecs, exact, strict=True):
        hits = index.knn(
            VectorQuery(workspace=WORKSPACE, vector=q.tolist(), model=VECTOR_MODEL, k=10)
        )
        total += len({asset_id(int(i)) for i in best} & {h.asset.id for h in hits}) / 10
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
    rows.append("")
    if idx := results.get("indexing"):
        rows.append(
            f"- indexing: {idx['docs_per_s']} docs/s ({idx['docs']} docs in {idx['seconds']} s)"
        )
    if "catch_up_s" in results:
        rows.append(f"- background catch-up after the writes: {results['catch_up_s']} s")
    rows += [
        f"- first keyword query: {results['keyword_first_query_ms']} ms",
        f"- first kNN query: {results['knn_first_query_ms']} ms",
        f"- kNN recall@10 vs exact: {results['knn_recall_at_10']}",
    ]
    if fresh := results.get("fresh_process"):
        rows.append(f"- first queries of a fresh process: {fresh}")
    if footprint := results.get("footprint"):
        rows.append(f"- footprint: {footprint}")
    if merged := results.get("after_force_merge"):
        rows += ["", f"After a force-merge to one segment ({merged['merge_seconds']} s):"]
        rows += [markdown(backend, n, merged)]
    return "\n".join(rows)


def _run_elasticsearch(
    index: SearchIndex, corpus: Corpus, args: argparse.Namespace
) -> dict[str, Any]:
    """run(), reusing a filled index on --reuse, with the node's heap and disk, and the
    measures again after a force-merge on --force-merge."""
    from benchmarks.es_node import EsNode
    from indexer.elasticsearch import ElasticsearchIndex

    assert isinstance(index, ElasticsearchIndex)
    node = EsNode(args.es_url, args.es_index)
    try:
        how = args.fill
        if args.reuse and node.count() == corpus.n:
            how = "skip"
        elif args.reuse:
            index.drop()
        results = run(index, corpus, args.queries, args.batch, how, args.warmup)
        results["footprint"] = node.footprint()
        log(f"footprint: {results['footprint']}")
        if args.force_merge:
            log("force-merging to one segment")
            seconds = node.force_merge()
            merged = measure(index, corpus, args.queries, args.warmup)
            merged["merge_seconds"] = seconds
            merged["footprint"] = node.footprint()
            results["after_force_merge"] = merged
    finally:
        node.close()
    return results


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--backend", choices=sorted(BACKENDS), default="embedded")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--warmup",
        type=int,
        default=0,
        help="untimed queries of each kind first (a reused index's pages)",
    )
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--path", help="embedded: index directory (default: a temp dir)")
    parser.add_argument(
        "--filled",
        action="store_true",
        help="embedded: --path already holds this corpus (an earlier run's)",
    )
    parser.add_argument(
        "--engine",
        choices=("tantivy", "sqlite", "both"),
        default="tantivy",
        help="embedded: the keyword engine; both: each in turn, same index",
    )
    parser.add_argument(
        "--ann-threshold",
        type=int,
        help="embedded: vectors per workspace+model past which kNN uses HNSW",
    )
    parser.add_argument("--es-url", default="http://127.0.0.1:9200")
    parser.add_argument("--es-index", default="assetlens-bench")
    parser.add_argument("--fill", choices=("upsert", "rebuild"), default="upsert")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="elasticsearch: measure the index as it is when it holds N docs",
    )
    parser.add_argument(
        "--force-merge",
        action="store_true",
        help="elasticsearch: then merge to one segment and measure again",
    )
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)

    corpus = Corpus(n=args.n, dim=args.dim)
    index = BACKENDS[args.backend](args)
    label = f"embedded ({args.engine})" if args.backend == "embedded" else args.backend
    try:
        if args.backend == "elasticsearch":
            results = _run_elasticsearch(index, corpus, args)
        else:
            how = "skip" if args.filled else args.fill
            results = run(index, corpus, args.queries, args.batch, how, args.warmup)
    finally:
        index.close()
    if args.backend == "embedded":
        results["fresh_process"] = in_fresh_process(Path(args.path), args.dim)
    print(markdown("embedded (tantivy)" if args.engine == "both" else label, args.n, results))
    report: dict[str, Any] = {
        "backend": args.backend,
        "n": args.n,
        "dim": args.dim,
        "machine": machine(),
        "load": os.getloadavg(),
        "results": results,
    }
    if args.backend == "embedded" and args.engine == "both":
        from indexer.embedded import EmbeddedSearchIndex

        sqlite = EmbeddedSearchIndex(Path(args.path), engine="sqlite")
        try:
            report["results_sqlite"] = run(sqlite, corpus, args.queries, args.batch, "skip")
        finally:
            sqlite.close()
        print()
        print(markdown("embedded (sqlite)", args.n, report["results_sqlite"]))
    print(f"\nload average after the run: {os.getloadavg()}")
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
