"""Recall@10 and latency of the embedded HNSW graph at several search breadths.

Sweeps `expansion_search` over the graph a `bench_search` run saved (embedded backend,
`--path DIR`), with the queries and the exact top 10 that `bench_search` measures recall
against: the graph's candidates (4·k, as kNN asks for) are rescored with their exact
vectors, as the index does. Only the graph search is timed.

    python -m benchmarks.bench_ann_breadth --path ~/.cache/assetlens/emb1m --n 1000000
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.exact import exact_top10
from benchmarks.synthetic import VECTOR_MODEL, WORKSPACE, Corpus, query_vectors
from indexer.embedded.ann import AnnFiles
from indexer.embedded.ann_graph import AnnSettings
from indexer.embedded.database import POINTER

K = 10
CANDIDATES = 4 * K  # AnnSettings.oversample · k, unfiltered


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--path", type=Path, required=True, help="bench_search's --path")
    parser.add_argument("--n", type=int, required=True, help="the corpus size it was filled with")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--breadths", type=int, nargs="+", default=[128, 256, 384, 512, 768])
    args = parser.parse_args(argv)

    db = (args.path / POINTER).read_text().strip()
    ann = AnnFiles(args.path / "ann" / db, AnnSettings()).current(WORKSPACE, VECTOR_MODEL)
    if ann is None:
        raise SystemExit(f"no graph under {args.path}: run bench_search past the threshold")
    corpus = Corpus(n=args.n, dim=args.dim)
    # bench_search's recall queries: the first 100 of its 200 query vectors.
    queries = query_vectors(corpus, max(args.queries, 200))[: args.queries]
    exact = exact_top10(corpus, queries)
    ids = ann.ids
    print(f"graph: {len(ids):,} labels, {args.queries} queries, {CANDIDATES} candidates")
    print("| search breadth | recall@10 | graph search p50 / p95 ms |")
    print("|---:|---:|---:|")
    for breadth in args.breadths:
        ann.index.expansion_search = breadth  # type: ignore[misc]  # usearch's setter
        overlap, times = 0, []
        for query, best in zip(queries, exact, strict=True):
            start = time.perf_counter()
            labels = ann.index.search(query, CANDIDATES, threads=1).keys
            times.append((time.perf_counter() - start) * 1000)
            rows = [int(ids[int(label)], 16) for label in labels if ids[int(label)]]
            scores = np.stack([corpus.vectors(r, r + 1)[0] for r in rows]) @ query
            top = {rows[i] for i in np.argsort(-scores, kind="stable")[:K]}
            overlap += len(top & set(best.tolist()))
        p50, p95 = np.percentile(times, [50, 95])
        print(f"| {breadth} | {overlap / (K * len(queries)):.3f} | {p50:.1f} / {p95:.1f} |")


if __name__ == "__main__":
    main()
