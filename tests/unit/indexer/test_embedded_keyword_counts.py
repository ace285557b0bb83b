"""indexer.embedded.keyword_counts: facet groups and the per-seq coverage cache."""

from __future__ import annotations

from assetlens.domain import AssetType
from assetlens.filters import Facet, FacetMode, Filters
from assetlens.query import SearchQuery
from indexer.embedded.keyword_counts import CoverageCache, facet_groups


def test_one_group_in_conjunctive_mode_and_one_per_dropped_filter_in_disjunctive() -> None:
    filters = Filters(type=[AssetType.IMAGE], tags=["cat"])
    facets = [Facet.TYPE, Facet.TAGS, Facet.MODEL, Facet.TYPE]
    conjunctive = facet_groups(SearchQuery(workspace="ws", filters=filters, facets=facets))
    assert conjunctive == [(filters, [Facet.TYPE, Facet.TAGS, Facet.MODEL])]
    disjunctive = facet_groups(SearchQuery(workspace="ws", filters=filters, facets=facets,
                                           facet_mode=FacetMode.DISJUNCTIVE))  # fmt: skip
    assert disjunctive == [
        (Filters(tags=["cat"]), [Facet.TYPE]),
        (Filters(type=[AssetType.IMAGE]), [Facet.TAGS]),
        (filters, [Facet.MODEL]),
    ]


def test_coverage_cache_computes_once_per_key_and_forgets_the_oldest() -> None:
    cache = CoverageCache(entries=2)
    calls: list[str] = []

    def compute(name: str, value: bool) -> bool:
        calls.append(name)
        return value

    assert cache.get(("db", 1, "a"), lambda: compute("a", True)) is True
    assert cache.get(("db", 1, "a"), lambda: compute("a", False)) is True
    assert cache.get(("db", 2, "a"), lambda: compute("a@2", False)) is False  # a later seq
    assert cache.get(("db", 1, "b"), lambda: compute("b", True)) is True  # evicts ("db", 1, "a")
    assert cache.get(("db", 1, "a"), lambda: compute("a again", False)) is False
    assert calls == ["a", "a@2", "b", "a again"]
