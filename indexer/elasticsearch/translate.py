"""The backend-neutral query model (assetlens.query) translated to Elasticsearch request
bodies (the responses are translated back in indexer.elasticsearch.responses).

User text never reaches a query parser: it is cut into terms (`assetlens.searchtext`), each
term is analysed like the indexed text and matched as a `multi_match` phrase, by a stem or
(the word being typed) as the beginning of a longer word, all terms required. `query_string`
is never used, so `owner:*`, `workspace:x` or `(((` are words or nothing; the one wildcard
pattern is a word, escaped, then `?*`. The workspace filter is added here, on every request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from assetlens.cursors import decode_sort_cursor
from assetlens.filters import (
    COST_BUCKETS,
    SIZE_BUCKETS,
    Facet,
    FacetMode,
    Filters,
    cost_range_bounds,
)
from assetlens.query import (
    COST_MISSING_ASCENDING,
    COST_MISSING_DESCENDING,
    SearchQuery,
    Sort,
    SortField,
    VectorQuery,
)
from assetlens.searchtext import PREFIX_WEIGHT, STEM_FIELD, SearchTerm, search_terms
from indexer.elasticsearch.mapping import (
    EXACT_TEXT_FIELDS,
    TEXT_FIELDS,
    analysable,
    micros,
    vector_field,
)

MAX_NUM_CANDIDATES = 10_000  # Elasticsearch's limit
# int8 scores are coarse: on 100k 512-d vectors they alone capped recall@10 at 0.95 whatever
# num_candidates was (50…1000). Rescoring the best 2×k with the float vectors gave 1.0 at
# the same latency (benchmarks/bench_search.py synthetic corpus).
RESCORE_OVERSAMPLE = 2.0
HIT_SOURCE = ["asset"]
VALUES_AGG = "values"  # the inner aggregation of a disjunctive facet
# The created facet's bucket for documents without `created_month` (written before mapping
# version 6, until reindexed): it sorts before every YYYY-MM, and a count in it means the
# months must be counted by the date histogram of `created_at` (MonthsMissing).
MISSING_MONTH = "~"


class MonthsMissing(Exception):
    """Some counted documents have no `created_month`: count the months with
    `legacy_months=True`."""


# Facet → the keyword/boolean field a terms aggregation counts.
TERMS_FACETS: dict[Facet, str] = {
    Facet.TYPE: "type",
    Facet.TAGS: "tags",
    Facet.FOLDER: "folder_id",
    # Every model an asset used: an SDXL base + refiner asset counts once under each.
    Facet.MODEL: "models",
    Facet.PROVIDER: "provider",
    Facet.SOURCE: "source",
    Facet.GENERATOR: "generator",
    Facet.SAMPLER: "sampler",
    Facet.LORAS: "loras",
    Facet.AI_GENERATED: "ai_generated",
    Facet.FAVORITE: "favorite",
    Facet.STATUS: "status",
}
# Boolean facets whose documents may lack the field (indexed before it was mapped): a
# missing value counts as this one, as the embedded index's column default does.
_MISSING_AS: dict[Facet, bool] = {Facet.FAVORITE: False}
_SORT_FIELDS: dict[SortField, str] = {
    SortField.CREATED_AT: "created_us",
    SortField.UPDATED_AT: "updated_us",
    SortField.NAME: "name_sort",
    SortField.SIZE: "size_bytes",
}
# Keyword filters: Filters attribute → field.
_TERMS_FILTERS = (
    ("folder_id", "folder_id"), ("model", "models"), ("provider", "provider"),
    ("source", "source"), ("generator", "generator"), ("sampler", "sampler"),
    ("tags", "tags"), ("loras", "loras"), ("ids", "id"),
)  # fmt: skip


def filter_clauses(workspace: str, filters: Filters) -> list[dict[str, Any]]:
    """`bool.filter` clauses selecting `workspace`'s assets that pass `filters`."""
    clauses: list[dict[str, Any]] = [
        {"term": {"workspace": workspace}},
        {"terms": {"status": [s.value for s in filters.effective_status()]}},
    ]
    if filters.type:
        clauses.append({"terms": {"type": [t.value for t in filters.type]}})
    for attr, field in _TERMS_FILTERS:
        values: list[str] = getattr(filters, attr)
        if values:
            clauses.append({"terms": {field: list(values)}})
    if filters.exclude_folder_id:
        # must_not also passes assets without a folder_id, as the root view needs.
        clauses.append(
            {"bool": {"must_not": [{"terms": {"folder_id": list(filters.exclude_folder_id)}}]}}
        )
    if filters.ai_generated is not None:
        clauses.append({"term": {"ai_generated": filters.ai_generated}})
    if filters.favorite is not None:
        # `must_not true` rather than `term false`: a document without the field is no
        # favourite.
        favourite = {"term": {"favorite": True}}
        clauses.append(favourite if filters.favorite else {"bool": {"must_not": [favourite]}})
    if filters.created_month:
        clauses.append(_any_range("created_us", [_month_range(m) for m in filters.created_month]))
    if filters.size_range:
        bounds = {label: (low, high) for label, low, high in SIZE_BUCKETS}
        clauses.append(_any_range("size_bytes", [bounds[label] for label in filters.size_range]))
    created: dict[str, int] = {}
    if filters.created_from is not None:
        created["gte"] = micros(filters.created_from)
    if filters.created_to is not None:
        created["lte"] = micros(filters.created_to)
    if created:
        clauses.append({"range": {"created_us": created}})
    size: dict[str, int] = {}
    if filters.size_min is not None:
        size["gte"] = filters.size_min
    if filters.size_max is not None:
        size["lte"] = filters.size_max
    if size:
        clauses.append({"range": {"size_bytes": size}})
    if filters.cost_range:
        clauses.append(
            {
                "bool": {
                    "should": [cost_clause(label) for label in filters.cost_range],
                    "minimum_should_match": 1,
                }
            }
        )
    cost: dict[str, float] = {}
    if filters.cost_min is not None:
        cost["gte"] = filters.cost_min
    if filters.cost_max is not None:
        cost["lte"] = filters.cost_max
    if cost:
        clauses.append({"range": {"cost": cost}})
    return clauses


def cost_clause(label: str) -> dict[str, Any]:
    """The clause matching the costs of one COST_BUCKETS range (a document without a cost
    matches none)."""
    low, inclusive, high = cost_range_bounds(label)
    if high == low:
        return {"term": {"cost": low}}
    limits: dict[str, float] = {"gte" if inclusive else "gt": low}
    if high is not None:
        limits["lt"] = high
    return {"range": {"cost": limits}}


def _month_range(month: str) -> tuple[int, int]:
    """[start, end) of a "YYYY-MM" month in UTC, in epoch microseconds."""
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return micros(start), micros(end)


def _any_range(field: str, bounds: list[tuple[int | None, int | None]]) -> dict[str, Any]:
    """A clause matching `field` in any of the [low, high) ranges (None is open)."""
    ranges: list[dict[str, Any]] = []
    for low, high in bounds:
        limits: dict[str, int] = {}
        if low is not None:
            limits["gte"] = low
        if high is not None:
            limits["lt"] = high
        ranges.append({"range": {field: limits}} if limits else {"match_all": {}})
    return {"bool": {"should": ranges, "minimum_should_match": 1}}


def term_clause(term: SearchTerm) -> dict[str, Any] | None:
    """The clause one query term matches by: the term, analysed like indexed text, as a
    phrase in any exact text field (field scores summed, boosted like the embedded bm25); or
    one of its stems in `stems`; or (while typed) as the beginning of a longer word in an exact
    field, a constant score per field. None for a term with no words once analysed.

    Lucene runs this as one flat disjunction of term queries: a one-word phrase is a term
    query, and `tie_breaker` 1.0 makes the per-field disjunction a plain sum, which it
    rewrites to a boolean `should` and flattens into the clauses around it (the profile API
    shows one BooleanQuery of per-field TermQuery, stem and wildcard clauses)."""
    phrase = analysable(term.text)
    if not phrase:
        return None
    ways: list[dict[str, Any]] = [{
        "multi_match": {
            "query": phrase,
            "type": "phrase",
            "fields": [f"{name}^{TEXT_FIELDS[name]:g}" for name in EXACT_TEXT_FIELDS],
            "tie_breaker": 1.0,
        }
    }]  # fmt: skip
    stem_boost = TEXT_FIELDS[STEM_FIELD]
    ways.extend({"match": {STEM_FIELD: {"query": stem, "boost": stem_boost}}}
                for stem in term.stems)  # fmt: skip
    if term.prefix:
        # Only the words *longer* than the typed text: the word itself is scored once, by the
        # phrase above (assetlens.searchtext). Not analysed: the indexed form (folded,
        # lower-case), wildcard characters escaped, then at least one more character.
        pattern = wildcard_literal(phrase.lower()) + "?*"
        ways.extend({"wildcard": {name: {"value": pattern,
                                         "boost": TEXT_FIELDS[name] * PREFIX_WEIGHT}}}
                    for name in EXACT_TEXT_FIELDS)  # fmt: skip
    if len(ways) == 1:
        return ways[0]
    return {"bool": {"should": ways, "minimum_should_match": 1}}


def wildcard_literal(text: str) -> str:
    """`text` matched literally inside a wildcard pattern (`*`, `?` and `\\` escaped)."""
    return "".join("\\" + char if char in "*?\\" else char for char in text)


def text_clauses(text: str | None) -> list[dict[str, Any]]:
    """One required clause per query term (assetlens.searchtext)."""
    clauses = (term_clause(term) for term in search_terms(text))
    return [clause for clause in clauses if clause is not None]


@dataclass(frozen=True, slots=True)
class Ordering:
    """How hits are ordered: by relevance or by a field, ties broken by id ascending."""

    field: SortField
    descending: bool

    @property
    def is_rank(self) -> bool:
        return self.field is SortField.RELEVANCE

    def sort(self) -> list[dict[str, Any]]:
        order = "desc" if self.descending else "asc"
        if self.field is SortField.COST:
            # The embedded index's COALESCE: no cost sorts last either way.
            missing = COST_MISSING_DESCENDING if self.descending else COST_MISSING_ASCENDING
            return [{"cost": {"order": order, "missing": missing}}, {"id": {"order": "asc"}}]
        key = "_score" if self.is_rank else _SORT_FIELDS[self.field]
        return [{key: {"order": order}}, {"id": {"order": "asc"}}]

    def search_after(self, cursor: str) -> list[Any]:
        """The sort values inside a cursor made for this ordering; InvalidInput otherwise."""
        return list(decode_sort_cursor(cursor, self.field))


def ordering(sort: Sort, has_text: bool) -> Ordering:
    """The ordering for `sort`; relevance without text falls back to newest first."""
    if sort.field is SortField.RELEVANCE and not has_text:
        return Ordering(SortField.CREATED_AT, True)
    return Ordering(sort.field, sort.descending)


def facet_aggregation(
    facet: Facet, size: int, prefix: str = "", *, legacy_months: bool = False
) -> dict[str, Any]:
    """The aggregation counting `facet` over the hits of the query it is attached to (only
    the values starting with `prefix`, a PREFIX_FACETS facet's). The months are the terms of
    `created_month`, or with `legacy_months` a date histogram (MISSING_MONTH)."""
    if facet is Facet.CREATED and not legacy_months:
        # One bucket more: MISSING_MONTH sorts first, before the latest months.
        return {"terms": {"field": "created_month", "size": size + 1, "missing": MISSING_MONTH,
                          "order": {"_key": "desc"}}}  # fmt: skip
    if facet is Facet.CREATED:
        return {
            "date_histogram": {
                "field": "created_at",
                "calendar_interval": "month",
                "format": "yyyy-MM",
                "time_zone": "UTC",
                "min_doc_count": 1,
                "order": {"_key": "desc"},
            }
        }
    if facet is Facet.SIZE:
        ranges: list[dict[str, Any]] = []
        for label, low, high in SIZE_BUCKETS:
            bucket: dict[str, Any] = {"key": label}
            if low is not None:
                bucket["from"] = low
            if high is not None:
                bucket["to"] = high
            ranges.append(bucket)
        return {"range": {"field": "size_bytes", "ranges": ranges}}
    if facet is Facet.COST:
        # Named filters (the same clauses as the cost_range filter), one per bucket.
        return {"filters": {"filters": {label: cost_clause(label) for label, _, _ in COST_BUCKETS}}}
    terms: dict[str, Any] = {
        "field": TERMS_FACETS[facet],
        "size": size,
        "order": [{"_count": "desc"}, {"_key": "asc"}],
    }
    if facet in _MISSING_AS:
        terms["missing"] = _MISSING_AS[facet]
    if prefix:
        terms["include"] = prefix_regex(prefix)
    return {"terms": terms}


def prefix_regex(prefix: str) -> str:
    """A Lucene regular expression matching the values that start with `prefix`: every
    character but an ASCII letter or digit escaped (a backslash makes it literal there;
    before a letter it can name a class, `\\d`), then anything."""
    return "".join(char if char.isascii() and char.isalnum() else "\\" + char
                   for char in prefix) + ".*"  # fmt: skip


def facet_aggregations(query: SearchQuery, *, legacy_months: bool = False) -> dict[str, Any]:
    """The aggregations of the requested facets. In disjunctive mode each is wrapped in a
    `filter` aggregation applying the filters it is counted under (the query itself then
    carries only the filters no facet drops; the rest go to `post_filter`)."""
    aggs: dict[str, Any] = {}
    for facet in dict.fromkeys(query.facets):
        inner = facet_aggregation(facet, query.facet_size, query.facet_prefix.get(facet, ""),
                                  legacy_months=legacy_months)  # fmt: skip
        if query.facet_mode is FacetMode.DISJUNCTIVE:
            clauses = filter_clauses(query.workspace, query.facet_filters(facet))
            inner = {"filter": {"bool": {"filter": clauses}}, "aggs": {VALUES_AGG: inner}}
        aggs[facet.value] = inner
    return aggs


def shared_filters(query: SearchQuery) -> Filters:
    """The filters every facet is counted under: all of them, or in disjunctive mode those no
    requested facet drops (the others apply per facet, and to the hits by `post_filter`)."""
    filters = query.filters
    if query.facet_mode is FacetMode.DISJUNCTIVE:
        for facet in query.facets:
            filters = filters.without(facet)
    return filters


def search_body(query: SearchQuery, *, legacy_months: bool = False) -> dict[str, Any]:
    """The `_search` body for a keyword query: one page (plus one hit to know whether there
    is a next page), the exact total, and the requested facets (`legacy_months`:
    facet_aggregation)."""
    texts = text_clauses(query.text)
    order = ordering(query.sort, bool(texts))
    disjunctive = bool(query.facets) and query.facet_mode is FacetMode.DISJUNCTIVE
    bool_query: dict[str, Any] = {"filter": filter_clauses(query.workspace, shared_filters(query))}
    if texts:
        bool_query["must"] = texts
    body: dict[str, Any] = {
        "query": {"bool": bool_query},
        "sort": order.sort(),
        "size": query.limit + 1,
        "track_total_hits": True,
        "_source": HIT_SOURCE,
    }
    if texts and not order.is_rank:
        body["track_scores"] = True
    if query.cursor:
        body["search_after"] = order.search_after(query.cursor)
    if disjunctive:
        # Hits (and the total) pass every filter; the aggregations see the wider query.
        body["post_filter"] = {"bool": {"filter": filter_clauses(query.workspace, query.filters)}}
    if query.facets:
        body["aggs"] = facet_aggregations(query, legacy_months=legacy_months)
    return body


def num_candidates(k: int, configured: int) -> int:
    """Candidates per shard for HNSW: at least the configured number and 4×k (so also at
    least the oversampled k)."""
    return min(MAX_NUM_CANDIDATES, max(configured, 4 * k, k))


def knn_body(
    query: VectorQuery, candidates: int, oversample: float | None = RESCORE_OVERSAMPLE
) -> dict[str, Any]:
    """The `_search` body for a filtered approximate kNN query over `query.model`'s vectors;
    with `oversample`, the best k×oversample are rescored with the unquantised vectors."""
    knn_filter: dict[str, Any] = {
        "filter": [
            *filter_clauses(query.workspace, query.filters),
            {"term": {"vector_model": query.model}},
        ]
    }
    if query.exclude_ids:
        knn_filter["must_not"] = [{"terms": {"id": list(query.exclude_ids)}}]
    knn: dict[str, Any] = {
        "field": vector_field(len(query.vector)),
        "query_vector": list(query.vector),
        "k": query.k,
        "num_candidates": num_candidates(query.k, candidates),
        "filter": {"bool": knn_filter},
    }
    if oversample:
        knn["rescore_vector"] = {"oversample": oversample}
    return {"knn": knn, "size": query.k, "_source": HIT_SOURCE}
