"""The Elasticsearch index's library statistics (`SearchIndex.stats`): one aggregation
request for the counts, bytes and costs, and composite-aggregation pages over `sha256` for
the storage (exact: `cardinality` would only estimate the number of distinct blobs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assetlens.stats import GroupTotals, IndexStats, StatsGroup, Totals, finish_groups, totals

# Terms buckets asked for per dimension; `finish_groups` then keeps the top MAX_GROUPS
# by cost (a cut by Elasticsearch itself would order by count).
TERMS_SIZE = 10_000
STORAGE_PAGE = 1000
_SUMS: dict[str, Any] = {
    "bytes": {"sum": {"field": "size_bytes"}},
    "cost": {"sum": {"field": "cost"}},
    "priced": {"value_count": {"field": "cost"}},
}
_DELETED: dict[str, Any] = {"term": {"status": "deleted"}}
_GROUPS: dict[StatsGroup, dict[str, Any]] = {
    StatsGroup.TYPE: {"terms": {"field": "type", "size": 100}},
    StatsGroup.MODEL: {"terms": {"field": "model", "size": TERMS_SIZE}},
    StatsGroup.PROVIDER: {"terms": {"field": "provider", "size": TERMS_SIZE}},
    StatsGroup.MONTH: {
        "date_histogram": {
            "field": "created_at",
            "calendar_interval": "month",
            "format": "yyyy-MM",
            "time_zone": "UTC",
            "min_doc_count": 1,
        }
    },
}


def totals_body(workspace: str) -> dict[str, Any]:
    """The `_search` body of everything but the storage."""
    groups = {group.value: {**agg, "aggs": _SUMS} for group, agg in _GROUPS.items()}
    return {
        "size": 0,
        "track_total_hits": False,
        "query": {"term": {"workspace": workspace}},
        "aggs": {
            "live": {"filter": {"bool": {"must_not": [_DELETED]}}, "aggs": {**_SUMS, **groups}},
            "trash": {"filter": _DELETED, "aggs": _SUMS},
        },
    }


def storage_body(workspace: str, after: dict[str, Any] | None) -> dict[str, Any]:
    """One page of distinct blobs (sha256) with their size."""
    composite: dict[str, Any] = {
        "size": STORAGE_PAGE,
        "sources": [{"sha": {"terms": {"field": "sha256"}}}],
    }
    if after is not None:
        composite["after"] = after
    return {
        "size": 0,
        "track_total_hits": False,
        "query": {"term": {"workspace": workspace}},
        "aggs": {
            "blobs": {"composite": composite, "aggs": {"size": {"max": {"field": "size_bytes"}}}}
        },
    }


def _totals(agg: dict[str, Any]) -> Totals:
    return totals(
        int(agg["doc_count"]),
        agg["bytes"]["value"],
        agg["cost"]["value"],
        int(agg["priced"]["value"]),
    )


def _group(bucket: dict[str, Any]) -> GroupTotals:
    value = bucket.get("key_as_string", bucket["key"])
    return GroupTotals(value=str(value), **_totals(bucket).model_dump())


def library_stats(workspace: str, search: Callable[[dict[str, Any]], dict[str, Any]]) -> IndexStats:
    """`workspace`'s stats through `search` (a `_search` on the alias, body → response)."""
    aggs = search(totals_body(workspace))["aggregations"]
    live = aggs["live"]
    groups = {
        group: finish_groups(group, (_group(b) for b in live[group.value]["buckets"]))
        for group in StatsGroup
    }
    blobs = stored = 0
    after: dict[str, Any] | None = None
    while True:
        page = search(storage_body(workspace, after))["aggregations"]["blobs"]
        buckets = page.get("buckets", [])
        blobs += len(buckets)
        stored += sum(int(b["size"]["value"] or 0) for b in buckets)
        after = page.get("after_key")
        if not buckets or after is None:
            break
    return IndexStats(
        live=_totals(live),
        by_type=groups[StatsGroup.TYPE],
        by_model=groups[StatsGroup.MODEL],
        by_provider=groups[StatsGroup.PROVIDER],
        by_month=groups[StatsGroup.MONTH],
        trash=_totals(aggs["trash"]),
        storage_blobs=blobs,
        storage_bytes=stored,
    )
