"""Request bodies and response readings for counting a common word's hits by the complement
(assetlens.facetcounts) on Elasticsearch.

A keyword query whose text matches most of its scope is answered by three requests instead of
one: the page alone (top-k, no total, no aggregations), the counts of the scope (workspace and
filters, no text: a size-0 request the shard request cache keeps until the next refresh), and
the counts of the scope without the text. Whether the text is that common is estimated first
from its words' document frequencies (`_termvectors` of an artificial document: one term
dictionary look-up per word and field). A text matching fewer, but still many, documents has
its page and the counts of its hits requested apart (`hits_counts_body`); which requests a
query gets, and how they are sent, is indexer.elasticsearch.keyword's.
"""

from __future__ import annotations

from typing import Any

from assetlens.facetcounts import MAX_COMPLEMENT_VALUES, Counts, estimated_matches
from assetlens.filters import COST_BUCKETS, Facet, FacetMode
from assetlens.query import SearchQuery
from assetlens.searchtext import STEM_FIELD, search_terms
from indexer.elasticsearch.mapping import EXACT_TEXT_FIELDS, analysable
from indexer.elasticsearch.responses import created_months
from indexer.elasticsearch.translate import (
    VALUES_AGG,
    facet_aggregation,
    filter_clauses,
    search_body,
    shared_filters,
    text_clauses,
)

# The filter aggregation counting the hits under every filter (disjunctive mode, where the
# query itself carries only the filters no facet drops).
TOTAL_AGG = "all_filters"


def estimate_doc(text: str | None) -> dict[str, str] | None:
    """The artificial document whose term vectors (with term statistics) give the document
    frequency of each word of `text` in each text field; None for text without words."""
    terms = search_terms(text)
    words = " ".join(analysable(term.text) for term in terms).strip()
    if not words:
        return None
    doc = dict.fromkeys(EXACT_TEXT_FIELDS, words)
    # A term without stems (a phrase) never matches by the stems field alone.
    if all(term.stems for term in terms):
        doc[STEM_FIELD] = " ".join(stem for term in terms for stem in term.stems)
    return doc


def read_frequencies(
    response: dict[str, Any], doc: dict[str, str]
) -> tuple[dict[str, dict[str, int]], int]:
    """(each field's document frequency of each of its words, documents in the shard) from the
    term vectors of `estimate_doc`. A word without a frequency is in no document there."""
    freqs: dict[str, dict[str, int]] = {}
    documents = 0
    vectors: dict[str, Any] = response.get("term_vectors", {})
    for field in doc:
        answer = vectors.get(field, {})
        documents = max(documents, int(answer.get("field_statistics", {}).get("doc_count", 0)))
        terms: dict[str, Any] = answer.get("terms", {})
        freqs[field] = {word: int(stats.get("doc_freq", 0)) for word, stats in terms.items()}
    return freqs, documents


def read_estimate(response: dict[str, Any], doc: dict[str, str]) -> tuple[int, int]:
    """(estimated matches, documents in the shard) from the term vectors of `estimate_doc`."""
    freqs, documents = read_frequencies(response, doc)
    return best_rarest(freqs), documents


def best_rarest(freqs: dict[str, dict[str, int]]) -> int:
    """`estimated_matches` of `read_frequencies`' answer: the best field's rarest word (a
    field without the words counts none)."""
    return estimated_matches({field: list(words.values()) or [0]
                              for field, words in freqs.items()})  # fmt: skip


def page_body(query: SearchQuery) -> dict[str, Any]:
    """The page alone: the query's hits, sorted, without the total or any aggregation (so the
    top hits are found without visiting every match)."""
    body = search_body(query.model_copy(update={"facets": []}))
    body["track_total_hits"] = False
    return body


def hits_counts_body(query: SearchQuery, *, legacy_months: bool = False) -> dict[str, Any]:
    """The total and facets of `search_body(query)` without its page: size 0, unsorted, the
    same for every page of a query (so the shard request cache keeps one answer for all)."""
    body = search_body(query.model_copy(update={"cursor": None}), legacy_months=legacy_months)
    for key in ("sort", "track_scores", "search_after"):
        body.pop(key, None)
    body["size"] = 0
    body["_source"] = False
    return body


def with_counts(page: dict[str, Any], counts: dict[str, Any]) -> dict[str, Any]:
    """One response to `search_body` from the answers to `page_body` (the hits) and
    `hits_counts_body` (the total and aggregations) of the same query."""
    return {**counts, "hits": {**counts["hits"], "hits": page["hits"]["hits"]}}


def counts_body(
    query: SearchQuery, *, without_text: bool, legacy_months: bool = False
) -> dict[str, Any]:
    """A size-0 request counting the hits of the query's filters and every value of each
    requested facet (each under its own filters in disjunctive mode); `without_text` leaves
    out the documents the text matches."""
    disjunctive = query.facet_mode is FacetMode.DISJUNCTIVE
    scope: dict[str, Any] = {"filter": filter_clauses(query.workspace, shared_filters(query))}
    if without_text:
        scope["must_not"] = [{"bool": {"must": text_clauses(query.text)}}]
    aggs: dict[str, Any] = {}
    for facet in dict.fromkeys(query.facets):
        inner = facet_aggregation(facet, MAX_COMPLEMENT_VALUES, query.facet_prefix.get(facet, ""),
                                  legacy_months=legacy_months)  # fmt: skip
        if disjunctive:
            clauses = filter_clauses(query.workspace, query.facet_filters(facet))
            inner = {"filter": {"bool": {"filter": clauses}}, "aggs": {VALUES_AGG: inner}}
        aggs[facet.value] = inner
    if disjunctive:
        every = filter_clauses(query.workspace, query.filters)
        aggs[TOTAL_AGG] = {"filter": {"bool": {"filter": every}}}
    body: dict[str, Any] = {"size": 0, "track_total_hits": True, "query": {"bool": scope}}
    if aggs:
        body["aggs"] = aggs
    return body


def _values(facet: Facet, agg: dict[str, Any]) -> dict[str, int] | None:
    """Every value's count in one facet's aggregation; None when the terms aggregation left
    values out."""
    if VALUES_AGG in agg:
        agg = agg[VALUES_AGG]
    if facet is Facet.COST:
        named: dict[str, dict[str, Any]] = agg.get("buckets", {})
        return {label: int(named.get(label, {}).get("doc_count", 0))
                for label, _, _ in COST_BUCKETS}  # fmt: skip
    if int(agg.get("sum_other_doc_count", 0)) > 0:
        return None
    if facet is Facet.CREATED:
        return created_months(agg.get("buckets", []))
    return {str(b.get("key_as_string", b["key"])): int(b["doc_count"])
            for b in agg.get("buckets", [])}  # fmt: skip


def read_counts(query: SearchQuery, response: dict[str, Any]) -> Counts | None:
    """The Counts in the answer to `counts_body(query, ...)`; None when a facet has more
    values than were asked for."""
    aggs: dict[str, Any] = response.get("aggregations", {})
    facets = {}
    for facet in dict.fromkeys(query.facets):
        values = _values(facet, aggs.get(facet.value, {}))
        if values is None:
            return None
        facets[facet] = values
    if TOTAL_AGG in aggs:
        total = int(aggs[TOTAL_AGG]["doc_count"])
    else:
        hits_total = response["hits"]["total"]
        total = int(hits_total["value"] if isinstance(hits_total, dict) else hits_total)
    return Counts(total=total, facets=facets)
