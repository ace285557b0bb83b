"""What one asset costs Elasticsearch: disk per document, split by field (text, keywords,
the int8 HNSW graph and quantised vectors, the float vectors kept for rescoring), after a
force-merge to one segment — the per-document figures docs/SCALING.md sizes deployments from.

    python -m benchmarks.bench_es_footprint --n 20000 --es-url http://127.0.0.1:9200 \
        --out docs/results/es-footprint.json

Uses the same synthetic corpus and the same mapping as bench_search (512-dim vectors, prompts,
tags, facets). Sizes do not depend on CPU speed, so they are steady on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from assetlens.config import IndexBackend, Settings
from benchmarks.bench_search import fill, machine
from benchmarks.synthetic import Corpus
from indexer.elasticsearch import ElasticsearchIndex


def field_sizes(usage: dict[str, Any]) -> dict[str, int]:
    """Bytes per top-level kind of storage, summed over fields, from `_disk_usage`."""
    totals: dict[str, int] = {}
    for field, sizes in usage.get("fields", {}).items():
        kind = "vectors" if field.startswith("vector_") else "other fields"
        if field in ("_source", "_id", "_seq_no", "_version", "_primary_term"):
            kind = "_source and ids"
        totals[kind] = totals.get(kind, 0) + int(sizes.get("total_in_bytes", 0))
    return totals


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--es-url", default="http://127.0.0.1:9200")
    parser.add_argument("--es-index", default="assetlens-footprint")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    settings = Settings(
        _env_file=None,
        index_backend=IndexBackend.ELASTICSEARCH,
        es_url=args.es_url,
        es_index=args.es_index,
    )
    index = ElasticsearchIndex.from_settings(settings)
    index.drop()
    index.ensure()
    started = time.perf_counter()
    filled = fill(index, Corpus(n=args.n, dim=args.dim), batch=500)
    client = Elasticsearch(settings.es_nodes, request_timeout=600)
    physical = next(iter(client.indices.get_alias(name=args.es_index).body))
    client.indices.forcemerge(index=physical, max_num_segments=1)
    stats = client.indices.stats(index=physical, metric="store,docs,segments").body
    primaries = stats["indices"][physical]["primaries"]
    usage = client.indices.disk_usage(index=physical, run_expensive_tasks=True).body[physical]
    store_bytes = int(primaries["store"]["size_in_bytes"])
    fields = {
        name: {
            "total_in_bytes": int(sizes.get("total_in_bytes", 0)),
            "knn_vectors_in_bytes": int(sizes.get("knn_vectors_in_bytes", 0)),
            "inverted_index_in_bytes": int(
                sizes.get("inverted_index", {}).get("total_in_bytes", 0)
            ),
            "doc_values_in_bytes": int(sizes.get("doc_values_in_bytes", 0)),
            "stored_fields_in_bytes": int(sizes.get("stored_fields_in_bytes", 0)),
        }
        for name, sizes in usage.get("fields", {}).items()
    }
    report = {
        "n": args.n,
        "dim": args.dim,
        "indexing": filled,
        "seconds_total": round(time.perf_counter() - started, 1),
        "store_bytes": store_bytes,
        "bytes_per_doc": round(store_bytes / args.n, 1),
        "by_kind_per_doc": {
            kind: round(size / args.n, 1) for kind, size in field_sizes(usage).items()
        },
        "fields": fields,
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
    }
    print(
        f"{args.n} docs, {args.dim} dims: {store_bytes / 1e6:.1f} MB on disk after "
        f"force-merge = {report['bytes_per_doc']} B/doc"
    )
    for kind, size in sorted(report["by_kind_per_doc"].items()):
        print(f"  {kind:18} {size:10.1f} B/doc")
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    index.drop()
    return report


if __name__ == "__main__":
    main()
