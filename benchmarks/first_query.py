"""The first queries of a new process on an existing embedded index (a restarted server).

    python -m benchmarks.first_query --path /tmp/bench100k

Opens the index in this process and times its first kNN, first filtered kNN and first
keyword+facets search, each the first of its kind; prints them as JSON with the process's
peak memory. bench_search runs it in a fresh interpreter after it has measured an embedded
index (`fresh_process` in its results), so nothing is warm but the OS page cache.

`--evict` first drops the index's files from the page cache (POSIX_FADV_DONTNEED: only
those files, other processes' cache stays), as when other work pushed them out.
`--read-ahead S` calls the index's read_ahead() on opening, as `assetlens serve` does at
start-up, and waits S seconds (a server's time before its first request) before the queries.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from assetlens.domain import AssetType
from assetlens.filters import Filters
from assetlens.query import SearchQuery, VectorQuery
from benchmarks.synthetic import TAGS, VECTOR_MODEL, WORKSPACE


def _ms(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return round((time.perf_counter() - t) * 1000, 1)


def evict(path: Path) -> None:
    """Drop every file under `path` from the page cache (clean pages only: sync first)."""
    os.sync()
    for file in path.rglob("*"):
        if file.is_file():
            fd = os.open(file, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def first_queries(path: Path, dim: int, read_ahead_s: float | None = None) -> dict[str, Any]:
    """The latency of each first query on the index at `path`, opened by this process
    (after read_ahead() and `read_ahead_s` seconds, when given)."""
    from assetlens.filters import Facet
    from indexer.embedded import EmbeddedSearchIndex

    started = time.perf_counter()
    index = EmbeddedSearchIndex(path)
    if read_ahead_s is not None:
        index.read_ahead()
        time.sleep(read_ahead_s)
    rng = np.random.default_rng(11)
    vectors = rng.standard_normal((2, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    try:
        results = {
            "knn_first_ms": _ms(lambda: index.knn(VectorQuery(
                workspace=WORKSPACE, vector=vectors[0].tolist(), model=VECTOR_MODEL, k=10))),
            "knn_filtered_first_ms": _ms(lambda: index.knn(VectorQuery(
                workspace=WORKSPACE, vector=vectors[1].tolist(), model=VECTOR_MODEL, k=10,
                filters=Filters(type=[AssetType.IMAGE], tags=[TAGS[0]])))),
            "keyword_facets_first_ms": _ms(lambda: index.search(SearchQuery(
                workspace=WORKSPACE, text="castle", limit=20,
                facets=[Facet.TYPE, Facet.TAGS, Facet.MODEL, Facet.CREATED]))),
        }  # fmt: skip
        results["process_s"] = round(time.perf_counter() - started - (read_ahead_s or 0), 2)
    finally:
        index.close()
    status = Path("/proc/self/status").read_text(encoding="utf-8")
    peak = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    results["peak_rss_mb"] = round(int(peak.split()[1]) / 1024, 1)
    return results


def in_fresh_process(path: Path, dim: int) -> dict[str, Any]:
    """first_queries in a new interpreter (what a restarted server pays)."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.first_query", "--path", str(path), "--dim", str(dim)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--path", type=Path, required=True, help="the embedded index directory")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument(
        "--evict", action="store_true", help="drop the index's files from the page cache first"
    )
    parser.add_argument(
        "--read-ahead",
        type=float,
        metavar="S",
        help="call read_ahead() on opening, then wait S seconds",
    )
    args = parser.parse_args()
    if args.evict:
        evict(args.path)
    print(json.dumps(first_queries(args.path, args.dim, args.read_ahead)))


if __name__ == "__main__":
    main()
