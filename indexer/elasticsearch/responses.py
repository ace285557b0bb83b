"""Elasticsearch responses translated back to the core's SearchPage / Hit (the requests
are built in indexer.elasticsearch.translate)."""

from __future__ import annotations

from typing import Any

from assetlens.cursors import encode_cursor
from assetlens.domain import Asset
from assetlens.facetcounts import Counts, ordered_buckets
from assetlens.filters import COST_BUCKETS, Facet
from assetlens.query import FacetBucket, Hit, SearchPage, SearchQuery
from indexer.elasticsearch.translate import (
    MISSING_MONTH,
    VALUES_AGG,
    MonthsMissing,
    text_clauses,
)


def dot_product(score: float) -> float:
    """Elasticsearch scores dot_product similarity as (1 + dot) / 2; this undoes that."""
    return 2.0 * score - 1.0


def _asset(hit: dict[str, Any]) -> Asset:
    return Asset.model_validate(hit["_source"]["asset"])


def _text_score(hit: dict[str, Any]) -> float | None:
    score = hit.get("_score")
    return None if score is None else float(score)


def _buckets(facet: Facet, agg: dict[str, Any], size: int) -> list[FacetBucket]:
    if VALUES_AGG in agg:  # a disjunctive facet's filter aggregation
        agg = agg[VALUES_AGG]
    if facet is Facet.COST:
        named: dict[str, dict[str, Any]] = agg.get("buckets", {})
        counts = [
            (label, int(named.get(label, {}).get("doc_count", 0))) for label, _, _ in COST_BUCKETS
        ]
        return [FacetBucket(value=label, count=n) for label, n in counts if n > 0][:size]
    raw: list[dict[str, Any]] = agg.get("buckets", [])
    if facet is Facet.SIZE:
        # Range buckets come in SIZE_BUCKETS order; empty ones are not facet values.
        return [
            FacetBucket(value=str(b["key"]), count=int(b["doc_count"]))
            for b in raw
            if b["doc_count"] > 0
        ][:size]
    if facet is Facet.CREATED:
        months = created_months(raw)
        return [FacetBucket(value=month, count=n) for month, n in months.items()][:size]
    return [
        FacetBucket(value=str(b.get("key_as_string", b["key"])), count=int(b["doc_count"]))
        for b in raw
    ]


def created_months(buckets: list[dict[str, Any]]) -> dict[str, int]:
    """Each month's count, latest first, from the created facet's buckets (the terms of
    `created_month` or the legacy date histogram); MonthsMissing when some documents counted
    have no `created_month`."""
    months: dict[str, int] = {}
    for bucket in buckets:
        key = str(bucket["key_as_string"] if "key_as_string" in bucket else bucket["key"])
        if key == MISSING_MONTH:
            raise MonthsMissing
        months[key] = int(bucket["doc_count"])
    return months


def search_page(
    query: SearchQuery, response: dict[str, Any], counts: Counts | None = None
) -> SearchPage:
    """A SearchPage from the response to `search_body(query)`, or to the page alone with the
    total and facets counted apart (`counts`, assetlens.facetcounts)."""
    has_text = bool(text_clauses(query.text))
    raw_hits: list[dict[str, Any]] = response["hits"]["hits"]
    more = len(raw_hits) > query.limit
    raw_hits = raw_hits[: query.limit]
    hits = [Hit(asset=_asset(h), score=_text_score(h) if has_text else None) for h in raw_hits]
    next_cursor = encode_cursor(list(raw_hits[-1]["sort"])) if more and raw_hits else None
    if counts is not None:
        counted = {f.value: ordered_buckets(f, counts.facets[f], query.facet_size)
                   for f in query.facets}  # fmt: skip
        return SearchPage(total=counts.total, hits=hits, facets=counted, next_cursor=next_cursor)
    aggs: dict[str, Any] = response.get("aggregations", {})
    facets = {
        facet.value: _buckets(facet, aggs.get(facet.value, {}), query.facet_size)
        for facet in query.facets
    }
    total = response["hits"]["total"]
    return SearchPage(
        total=int(total["value"] if isinstance(total, dict) else total),
        hits=hits,
        facets=facets,
        next_cursor=next_cursor,
    )


def knn_hits(response: dict[str, Any]) -> list[Hit]:
    """Hits of a kNN response, best first, scored by dot product."""
    return [
        Hit(asset=_asset(h), score=dot_product(float(h["_score"])))
        for h in response["hits"]["hits"]
    ]
