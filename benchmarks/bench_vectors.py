"""Exact numpy kNN vs an HNSW index (usearch), on the synthetic corpus's vectors.

    python -m benchmarks.bench_vectors --n 100000 --out vectors.json
    python -m benchmarks.bench_vectors --embedded --n 1000000 --out ann-1m.json

The first compares bare numpy with bare usearch. `--embedded` measures the embedded index's
own kNN path (indexer/embedded/ann.py: graph candidates rescored with the float32 rows, the
status/id filters, the delta) on the same vectors, without the SQLite part that stays the
same at any size (the filters' SQL and fetching the k hits' documents): graph build time,
kNN p50/p95 unfiltered and with a 10 % id filter, recall@10 against exact, the process's
memory and the graph's disk use.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
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


def memory() -> dict[str, float]:
    """This process's resident memory now and at its peak (Linux /proc), in MB."""
    status = Path("/proc/self/status").read_text(encoding="utf-8")
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {"rss_mb": round(int(fields["VmRSS"].split()[0]) / 1024, 1),
            "peak_rss_mb": round(int(fields["VmHWM"].split()[0]) / 1024, 1)}  # fmt: skip


def run_embedded(n: int, dim: int, queries: int, graph_rows: int | None = None) -> dict[str, Any]:
    """The embedded index's kNN path at `n` vectors (see the module docstring). With
    `graph_rows` the graph holds only the first that many: the per-query cost of the parts
    that grow with n (masks, delta scan, rescoring) is then measured at full size when a
    full build does not fit the time; recall is not meaningful then and is left out."""
    from assetlens.domain import AssetStatus
    from indexer.embedded.ann import AnnFiles, AnnSettings
    from indexer.embedded.knn_filter import candidate_mask
    from indexer.embedded.vectors import ModelVectors, best_of, check_query

    corpus = Corpus(n=n, dim=dim)
    qvecs = query_vectors(corpus, queries)
    ids = [f"{i:032x}" for i in range(n)]
    ready = [AssetStatus.READY.value]
    entry = ModelVectors.of("bench", "bench-model", ids, corpus.all_vectors(), "ready", seq=1)
    snap = entry.snapshot()
    settings = AnnSettings(threshold=0, background=False)
    rng = np.random.default_rng(3)
    tenth = [ids[int(i)] for i in rng.choice(n, n // 10, replace=False)]
    with tempfile.TemporaryDirectory(prefix="bench-ann-") as tmp:
        files = AnnFiles(Path(tmp), settings)
        t = time.perf_counter()
        if graph_rows is None:
            files.fold(entry)
        else:
            sample = ModelVectors.of("bench", "bench-model", ids[:graph_rows],
                                     snap.matrix[:graph_rows], "ready", seq=1)  # fmt: skip
            files.fold(sample)
        build_s = time.perf_counter() - t
        disk_mb = round(files.disk_bytes() / 1e6, 1)
        built = n if graph_rows is None else graph_rows
        print(f"graph of {built:,} built in {build_s:.1f} s ({disk_mb} MB)", file=sys.stderr)

        def ann(q: npt.NDArray[np.float32], allowed: list[str] | None = None) -> list[str]:
            hits = files.top_k(entry, snap, q.tolist(), K, candidate_mask(snap, ready, allowed, ()))
            return [h for h, _ in hits]

        def exact(q: npt.NDArray[np.float32], allowed: list[str] | None = None) -> list[str]:
            wanted = np.flatnonzero(candidate_mask(snap, ready, allowed, ()))
            return [h for h, _ in best_of(snap, wanted, check_query(snap, q.tolist()), K)]

        results: dict[str, Any] = {"graph_build_s": round(build_s, 1), "graph_disk_mb": disk_mb}
        measures = [("knn_k10", None), ("knn_k10_id_filter_10pct", tenth)]
        # A filtered search over a partial graph would take paths a full one does not.
        for name, allowed in measures[: 1 if graph_rows else 2]:
            times, exact_times, recalls = [], [], []
            for q in qvecs:
                t = time.perf_counter()
                got = ann(q, allowed)
                t2 = time.perf_counter()
                truth = exact(q, allowed)
                times.append((t2 - t) * 1000)
                exact_times.append((time.perf_counter() - t2) * 1000)
                recalls.append(len(set(got) & set(truth)) / K)
            results[name] = {**_summary(times), "exact": _summary(exact_times)}
            if graph_rows is None:
                results[name]["recall_at_10"] = round(statistics.fmean(recalls), 4)
        results["graph_rows"] = n if graph_rows is None else graph_rows
        results["memory"] = memory()
        results["matrix_mb"] = round(snap.matrix.nbytes / 1e6, 1)
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="exact numpy vs usearch HNSW kNN")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--threads", type=int, default=0, help="usearch build threads (0=all)")
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="measure the embedded index's kNN path (graph + rescoring)",
    )
    parser.add_argument(
        "--graph-rows", type=int, help="--embedded: build the graph over only the first N vectors"
    )
    args = parser.parse_args(argv)
    if args.embedded:
        load_at_start = os.getloadavg()
        found = run_embedded(args.n, args.dim, args.queries, args.graph_rows)
        print(json.dumps(found, indent=2))
        if args.out:
            report = {
                "n": args.n,
                "dim": args.dim,
                "machine": machine(),
                "results": found,
                "load_average": {"start": load_at_start, "end": os.getloadavg()},
            }
            args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        return
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
