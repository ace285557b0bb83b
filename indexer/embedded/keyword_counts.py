"""Totals and facet counts of the tantivy keyword index for a text that matches most of the
library, counted by the complement (assetlens.facetcounts): the counts of the filters alone
(cached per applied journal seq) less those of the filters without the text."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import tantivy
from tantivy import Occur, Query

from assetlens.facetcounts import MAX_COMPLEMENT_VALUES, Counts, estimated_matches
from assetlens.query import Facet, Filters, SearchQuery
from assetlens.searchtext import EXACT_FIELDS, STEM_FIELD, search_terms
from indexer.embedded.keyword_query import FACET_FIELDS, facet_counts, filter_query
from indexer.embedded.keyword_schema import TEXT_FIELDS, words

# Scope counts kept per process: one per (database, applied seq, workspace, filters, facets).
_SCOPE_ENTRIES = 64


def text_estimate(searcher: tantivy.Searcher, text: str | None) -> int:
    """assetlens.facetcounts.estimated_matches of `text` from the index's document
    frequencies (of the whole index: every workspace, deleted documents not yet merged)."""
    freqs: dict[str, list[int]] = {}
    terms = search_terms(text)
    for term in terms:
        parts = words(term.text).split()
        for name in EXACT_FIELDS:
            field = TEXT_FIELDS[name]
            freqs.setdefault(name, []).extend(searcher.doc_freq(field, part) for part in parts)
        stems = [searcher.doc_freq(TEXT_FIELDS[STEM_FIELD], stem) for stem in term.stems]
        # A term without stems (a phrase) never matches by the stems field alone.
        freqs.setdefault(STEM_FIELD, []).extend(stems or [0])
    return estimated_matches(freqs)


def facet_groups(query: SearchQuery) -> list[tuple[Filters, list[Facet]]]:
    """The requested facets grouped by the filters they are counted under (one group in
    conjunctive mode; in disjunctive mode each facet drops its own field's filter)."""
    groups: dict[str, tuple[Filters, list[Facet]]] = {}
    for facet in dict.fromkeys(query.facets):
        filters = query.facet_filters(facet)
        groups.setdefault(filters.model_dump_json(), (filters, []))[1].append(facet)
    return list(groups.values())


def _count(searcher: tantivy.Searcher, query: Query) -> int:
    # The type stubs leave out SearchResult.count, which tantivy-py has.
    return int(searcher.search(query, 1, count=True).count)  # type: ignore[attr-defined]


def count_all(
    searcher: tantivy.Searcher, query: SearchQuery, excluded: Query | None
) -> Counts | None:
    """The total and every value's count of each requested facet over the filters' documents
    (less those matching `excluded`). None when a facet has more than MAX_COMPLEMENT_VALUES
    values there."""

    def scope(filters: Filters) -> Query:
        base = filter_query(query.workspace, filters)
        if excluded is None:
            return base
        return Query.boolean_query([(Occur.Must, base), (Occur.MustNot, excluded)])

    facets: dict[Facet, dict[str, int]] = {}
    for filters, group in facet_groups(query):
        aggs = {f.value: {"terms": {"field": FACET_FIELDS[f], "size": MAX_COMPLEMENT_VALUES}}
                for f in group}  # fmt: skip
        answer: dict[str, Any] = searcher.aggregate(scope(filters), aggs)
        for facet in group:
            result = answer.get(facet.value, {})
            if int(result.get("sum_other_doc_count", 0)) > 0:
                return None
            facets[facet] = facet_counts(result)
    return Counts(total=_count(searcher, scope(query.filters)), facets=facets)


class ScopeCache:
    """Scope counts (no text) of recent queries, valid while the applied seq they were
    counted at is the index's (a write moves it, so nothing stale is ever returned)."""

    def __init__(self, entries: int = _SCOPE_ENTRIES) -> None:
        self._entries = entries
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, int, str], Counts | None] = OrderedDict()

    def get(
        self, db: str, seq: int, query: SearchQuery, count: Callable[[], Counts | None]
    ) -> Counts | None:
        """The cached counts of `query`'s scope at (db, seq), or `count()`'s, then cached."""
        signature = query.model_dump_json(include={"workspace", "filters", "facets", "facet_mode"})
        key = (db, seq, signature)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        counts = count()
        with self._lock:
            self._cache[key] = counts
            while len(self._cache) > self._entries:
                self._cache.popitem(last=False)
        return counts
