"""A/B of Elasticsearch keyword+facets searches with and without the complement counting of
common words (assetlens.facetcounts), on an index already filled by `bench_search`.

Each of `--queries` synthetic keyword queries runs once as the single request it was before
(`search_body`: page, exact total and aggregations) and once through
`ElasticsearchIndex.search`, one right after the other so that both see the same load, and
the two answers are asserted equal (total, every facet bucket, hit ids in order).

    python -m benchmarks.ab_complement --es-url http://127.0.0.1:9250 --es-index bench-1m

Never writes to the index.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

from assetlens.query import SearchPage, SearchQuery
from benchmarks.bench_search import FACETS
from benchmarks.synthetic import WORKSPACE, keyword_queries

Search = Callable[[SearchQuery], SearchPage]


def _elasticsearch(args: argparse.Namespace) -> tuple[Search, Search]:
    from elasticsearch import Elasticsearch

    from indexer.elasticsearch import ElasticsearchIndex
    from indexer.elasticsearch.responses import search_page
    from indexer.elasticsearch.translate import search_body

    client = Elasticsearch(args.es_url, request_timeout=60, max_retries=0)
    index = ElasticsearchIndex(client, args.es_index)

    def direct(query: SearchQuery) -> SearchPage:
        response = client.search(index=args.es_index, body=search_body(query))
        return search_page(query, response.body)

    return direct, index.search


def _summary(ms: list[float]) -> str:
    return f"{statistics.median(ms):.1f} / {statistics.quantiles(ms, n=20)[-1]:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--es-url", default="http://127.0.0.1:9200")
    parser.add_argument("--es-index", default="assetlens-bench")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    direct, now = _elasticsearch(args)
    before_ms: list[float] = []
    now_ms: list[float] = []
    slowest: list[tuple[float, float, int, str]] = []
    load = [os.getloadavg()[0]]
    for text in keyword_queries(args.queries):
        query = SearchQuery(workspace=WORKSPACE, text=text, facets=FACETS, limit=20)
        started = time.perf_counter()
        old = direct(query)
        before_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        new = now(query)
        now_ms.append((time.perf_counter() - started) * 1000)
        assert (old.total, old.facets) == (new.total, new.facets), text
        assert [h.asset.id for h in old.hits] == [h.asset.id for h in new.hits], text
        slowest.append((now_ms[-1], before_ms[-1], new.total, text))
    load.append(os.getloadavg()[0])
    print(
        f"elasticsearch: {args.queries} queries, same answers; p50 / p95 ms: before "
        f"{_summary(before_ms)}, now {_summary(now_ms)}; load {load[0]:.1f}–{load[1]:.1f}"
    )
    for now_one, before_one, total, text in sorted(slowest)[-8:]:
        print(f"  {text!r}: {total:,} hits, before {before_one:.0f} ms, now {now_one:.0f} ms")


if __name__ == "__main__":
    main()
