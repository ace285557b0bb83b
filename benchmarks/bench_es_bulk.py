"""Rebuild throughput by bulk request size and requests in flight, for choosing
ElasticsearchIndex's `batch_size` and `bulk_workers`.

    python -m benchmarks.bench_es_bulk --n 10000 --es-url http://127.0.0.1:9200 \
        --batches 250,500,1000 --workers 1,2,3 --rounds 2

The synthetic docs (benchmarks.synthetic, 512-d vectors) are built once, before any timing,
so only encoding and sending them and the node's indexing are measured. Each combination
rebuilds a fresh index; rounds interleave the combinations so a change in the machine's load
spreads over all of them. Prints docs/s per combination (the best and the median round).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.bench_search import log, machine
from benchmarks.synthetic import Corpus
from indexer.elasticsearch import ElasticsearchIndex
from indexer.elasticsearch.failures import RetryPolicy


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--es-url", default="http://127.0.0.1:9200")
    parser.add_argument("--es-index", default="assetlens-bench-bulk")
    parser.add_argument("--batches", type=_ints, default=[250, 500, 1000])
    parser.add_argument("--workers", type=_ints, default=[1, 2, 3])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    from elasticsearch import Elasticsearch

    docs = [doc for chunk in Corpus(n=args.n, dim=args.dim).docs() for doc in chunk]
    rates: dict[str, list[float]] = {}
    for round_ in range(args.rounds):
        for batch in args.batches:
            for workers in args.workers:
                client = Elasticsearch(args.es_url, request_timeout=120)
                index = ElasticsearchIndex(
                    client,
                    args.es_index,
                    batch_size=batch,
                    bulk_workers=workers,
                    retry=RetryPolicy(attempts=5),
                )
                try:
                    started = time.perf_counter()
                    index.rebuild(iter(docs))
                    rate = args.n / (time.perf_counter() - started)
                finally:
                    index.drop()
                    index.close()
                key = f"batch {batch}, {workers} in flight"
                rates.setdefault(key, []).append(round(rate, 1))
                log(f"round {round_ + 1}: {key}: {rate:,.0f} docs/s")
    report: dict[str, object] = {
        "n": args.n, "dim": args.dim, "machine": machine(),
        "docs_per_s": {key: {"best": max(r), "median": statistics.median(r), "rounds": r}
                       for key, r in rates.items()},
    }  # fmt: skip
    for key, r in rates.items():
        print(f"{key:28} best {max(r):8,.0f}  median {statistics.median(r):8,.0f} docs/s")
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
