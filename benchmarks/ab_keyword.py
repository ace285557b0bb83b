"""A/B of Elasticsearch keyword+facets searches: the path before issue 12 item 2's second part
against this one, on an index already filled by `bench_search`.

    python -m benchmarks.ab_keyword --es-url http://127.0.0.1:9250 --es-index bench-1m

Three ways, each query through all three right after each other (same load), order rotated:

- **before**: the path as it was (commit 7affc5d), re-created here: the text's estimate
  (`_termvectors`) each time; a common text's page, scope counts and complement counts one
  after another; any other text one request; the typed word's prefix clause a `prefix` query
  (matching the word itself too).
- **concurrent**: this path (indexer.elasticsearch.keyword: the estimate remembered, the page
  and counts in one `_msearch`), with the old `prefix` clause: what the requests alone give.
- **now**: this path with the prefix of longer words only (`wildcard` `word?*`).

Asserted for every query: the three totals and facets are equal (the set of hits does not
change); `concurrent` gives the same hit ids in order as `before` (same scores); `now` the
same hit ids in order as this code's single request (`search_body`, untimed). The hits of
`now` may differ from `before` where the typed word itself is the only match of its prefix
in some documents and not in others (its scores changed): counted and reported.

With `--node-pid` (the Elasticsearch node's process on this machine), the node's CPU time
(user + system, from /proc) spent on each way is summed too: the work a way costs, whatever
the load, where the latency also counts the waits for a core.

Never writes to the index.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from assetlens.facetcounts import subtract, use_complement
from assetlens.query import SearchPage, SearchQuery
from benchmarks.bench_search import FACETS
from benchmarks.synthetic import WORKSPACE, keyword_queries
from indexer.elasticsearch.complement import (
    counts_body,
    estimate_doc,
    page_body,
    read_counts,
    read_estimate,
)
from indexer.elasticsearch.failures import RetryPolicy
from indexer.elasticsearch.keyword import KeywordSearch
from indexer.elasticsearch.responses import search_page
from indexer.elasticsearch.translate import search_body

Search = Callable[[SearchQuery], SearchPage]
Body = dict[str, Any]


def old_prefix(body: Body) -> Body:
    """`body` with each `wildcard` `word?*` clause back to the `prefix` `word` it was."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"wildcard"}:
                ((field, spec),) = node["wildcard"].items()
                word = spec["value"].removesuffix("?*").replace("\\", "")
                return {"prefix": {field: {"value": word, "boost": spec["boost"]}}}
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    result: Body = walk(copy.deepcopy(body))
    return result


class ConcurrentOldPrefix(KeywordSearch):
    """This path's requests with the old prefix clause."""

    def _search(self, body: Body) -> Body:
        return super()._search(old_prefix(body))

    def _msearch(self, action: str, searches: list[tuple[Body, Body]]) -> list[Body]:
        return super()._msearch(action, [(h, old_prefix(b)) for h, b in searches])


def before(client: Elasticsearch, index: str) -> Search:
    """The path as it was: estimate, then sequential requests, old prefix."""

    def search(query: SearchQuery) -> SearchPage:
        doc = estimate_doc(query.text)
        if doc is not None:
            vectors = client.termvectors(index=index, doc=doc, term_statistics=True,
                                         field_statistics=True, positions=False, offsets=False,
                                         payloads=False)  # fmt: skip
            if use_complement(*read_estimate(vectors.body, doc)):
                scope_body = old_prefix(counts_body(query, without_text=False))
                scope = read_counts(query, client.search(index=index, body=scope_body,
                                                         request_cache=True).body)  # fmt: skip
                without_body = old_prefix(counts_body(query, without_text=True))
                without = read_counts(query, client.search(index=index, body=without_body).body)
                counts = None if scope is None or without is None else subtract(scope, without)
                if counts is not None:
                    page = client.search(index=index, body=old_prefix(page_body(query))).body
                    return search_page(query, page, counts)
        response = client.search(index=index, body=old_prefix(search_body(query))).body
        return search_page(query, response)

    return search


def cpu_ms(pid: int | None) -> float:
    """CPU milliseconds process `pid` has used so far (0 without a pid)."""
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def _summary(ms: list[float]) -> str:
    return f"{statistics.median(ms):.1f} / {statistics.quantiles(ms, n=20)[-1]:.1f}"


def _ids(page: SearchPage) -> list[str]:
    return [hit.asset.id for hit in page.hits]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--es-url", default="http://127.0.0.1:9200")
    parser.add_argument("--es-index", default="assetlens-bench")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=0, help="untimed rounds of every query")
    parser.add_argument("--node-pid", type=int, help="the node's process: sum its CPU time")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    client = Elasticsearch(args.es_url, request_timeout=60, max_retries=0)
    ways: dict[str, Search] = {
        "before": before(client, args.es_index),
        "concurrent": ConcurrentOldPrefix(client, args.es_index, RetryPolicy()).search,
        "now": KeywordSearch(client, args.es_index, RetryPolicy()).search,
    }
    texts = keyword_queries(args.queries)
    for text in texts[: args.warmup]:
        for way in ways.values():
            way(SearchQuery(workspace=WORKSPACE, text=text, facets=FACETS, limit=20))
    ms: dict[str, list[float]] = {name: [] for name in ways}
    node_cpu = dict.fromkeys(ways, 0.0)
    reordered = 0
    slowest: list[tuple[float, float, int, str]] = []
    load = [os.getloadavg()[0]]
    names = list(ways)
    for i, text in enumerate(texts):
        query = SearchQuery(workspace=WORKSPACE, text=text, facets=FACETS, limit=20)
        pages: dict[str, SearchPage] = {}
        for name in names[i % 3 :] + names[: i % 3]:
            cpu, started = cpu_ms(args.node_pid), time.perf_counter()
            pages[name] = ways[name](query)
            ms[name].append((time.perf_counter() - started) * 1000)
            node_cpu[name] += cpu_ms(args.node_pid) - cpu
        old, now = pages["before"], pages["now"]
        for page in pages.values():
            assert (page.total, page.facets) == (old.total, old.facets), text
        assert _ids(pages["concurrent"]) == _ids(old), text
        single = search_page(query, client.search(index=args.es_index,
                                                  body=search_body(query)).body)  # fmt: skip
        assert _ids(now) == _ids(single), text
        reordered += _ids(now) != _ids(old)
        slowest.append((ms["now"][-1], ms["before"][-1], now.total, text))
    load.append(os.getloadavg()[0])
    print(f"elasticsearch {args.es_index}: {args.queries} queries, same totals and facets; "
          f"load {load[0]:.1f}–{load[1]:.1f}; p50 / p95 ms:")  # fmt: skip
    for name in names:
        spent = f", node CPU {node_cpu[name] / len(texts):.1f} ms/query" if args.node_pid else ""
        print(f"  {name:10s} {_summary(ms[name])}{spent}")
    print(f"  hits of `now` in another order than `before`: {reordered} of {args.queries}")
    for now_one, before_one, total, text in sorted(slowest)[-8:]:
        print(f"  {text!r}: {total:,} hits, before {before_one:.0f} ms, now {now_one:.0f} ms")
    if args.out:
        report = {
            "index": args.es_index, "queries": args.queries, "warmup": args.warmup,
            "date": time.strftime("%Y-%m-%d %H:%M %Z"), "load": load, "cpus": os.cpu_count(),
            "reordered": reordered,
            "ways": {name: {"p50_ms": round(statistics.median(ms[name]), 2),
                            "p95_ms": round(statistics.quantiles(ms[name], n=20)[-1], 2),
                            "node_cpu_ms_per_query": round(node_cpu[name] / len(texts), 2)
                            if args.node_pid else None,
                            "ms": [round(x, 2) for x in ms[name]]} for name in names},
            "texts": texts,
        }  # fmt: skip
        args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
