"""Counting helpers of the tantivy keyword index: facet groups, the hit count taken in the
facets' aggregation pass, and a per-seq cache of whether a query's filters pass every
document (then the page is searched by its text alone)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from assetlens.filters import Facet, Filters
from assetlens.query import SearchQuery

# The value_count aggregation that counts the hits beside the facets (a name no facet has).
TOTAL_AGG = "hits_total"
_ENTRIES = 256


def facet_groups(query: SearchQuery) -> list[tuple[Filters, list[Facet]]]:
    """The requested facets grouped by the filters they are counted under (one group in
    conjunctive mode; in disjunctive mode each facet drops its own field's filter)."""
    groups: dict[str, tuple[Filters, list[Facet]]] = {}
    for facet in dict.fromkeys(query.facets):
        filters = query.facet_filters(facet)
        groups.setdefault(filters.model_dump_json(), (filters, []))[1].append(facet)
    return list(groups.values())


class CoverageCache:
    """Booleans keyed by (database, applied seq, workspace and filters): valid while the
    searcher's seq is the one they were computed at (a write moves it, so nothing stale is
    returned). Bounded, least recently used out first."""

    def __init__(self, entries: int = _ENTRIES) -> None:
        self._entries = entries
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, int, str], bool] = OrderedDict()

    def get(self, key: tuple[str, int, str], compute: Callable[[], bool]) -> bool:
        """The cached value of `key`, or `compute()`'s, then cached."""
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        value = compute()
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > self._entries:
                self._cache.popitem(last=False)
        return value
