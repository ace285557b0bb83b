"""Exact numpy kNN vs an HNSW index (usearch), on the synthetic corpus's vectors.

    python -m benchmarks.bench_vectors --n 100000 --out vectors.json

This is the measurement behind the embedded index's choice of exact search. usearch is not
a dependency of Assetlens; install it to run this (`pip install usearch`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from benchmarks.bench_search import machine
from benchmarks.synthetic import Corpus, query_vectors

K = 10


def _latencies(search: Callable[[npt.NDArray[np.float32]], npt.NDArray[np.int64]],
               queries: npt.NDArray[np.float32]) -> tuple[list[float], list[set[int]]]:  # fmt: skip
    times, found = [], []
    for q in queries:
        t = time.perf_counter()
        ids = search(q)
        times.append((time.perf_counter() - t) * 1000)
        found.append({int(i) for i in ids})
    return times, found


def _summary(times: list[float]) -> dict[str, float]:
    qs = statistics.quantiles(times, n=100, method="inclusive")
    return {"p50_ms": round(qs[49], 3), "p95_ms": round(qs[94], 3)}


def run(n: int, dim: int, queries: int, threads: int) -> dict[str, Any]:
    from usearch.index import Index

    corpus = Corpus(n=n, dim=dim)
    matrix = corpus.all_vectors()
    qvecs = query_vectors(corpus, queries)

    def exact(q: npt.NDArray[np.float32]) -> npt.NDArray[np.int64]:
        scores = matrix @ q
        best = np.argpartition(-scores, K - 1)[:K]
        return best[np.argsort(-scores[best])]

    exact_times, truth = _latencies(exact, qvecs)
    results: dict[str, Any] = {"exact_numpy": _summary(exact_times)}

    for dtype in ("f32", "i8"):
        index = Index(ndim=dim, metric="ip", dtype=dtype, connectivity=16,
                      expansion_add=128, expansion_search=64)  # fmt: skip
        t = time.perf_counter()
        index.add(np.arange(n), matrix, threads=threads)
        build_s = time.perf_counter() - t

        def hnsw(q: npt.NDArray[np.float32], index: Any = index) -> npt.NDArray[np.int64]:
            keys: npt.NDArray[np.int64] = index.search(q, K).keys
            return keys

        times, got = _latencies(hnsw, qvecs)
        recall = statistics.fmean(len(a & b) / K for a, b in zip(truth, got, strict=True))
        results[f"usearch_hnsw_{dtype}"] = {
            **_summary(times),
            "build_s": round(build_s, 1),
            "recall_at_10": round(recall, 4),
            "memory_mb": round(index.memory_usage / 1e6, 1),
        }
    results["exact_numpy"]["matrix_mb"] = round(matrix.nbytes / 1e6, 1)
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="exact numpy vs usearch HNSW kNN")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--threads", type=int, default=0, help="usearch build threads (0=all)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    results = run(args.n, args.dim, args.queries, args.threads)
    print(f"| method ({args.n:,} × {args.dim}, k={K}) | p50 ms | p95 ms | recall@10 | build s |")
    print("|---|---:|---:|---:|---:|")
    for name, r in results.items():
        recall = r.get("recall_at_10", 1.0)
        print(f"| {name} | {r['p50_ms']} | {r['p95_ms']} | {recall} | {r.get('build_s', 0)} |")
    if args.out:
        report = {"n": args.n, "dim": args.dim, "machine": machine(), "results": results}
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
