"""SearchQuery.facet_prefix: which facets take one and how tag prefixes are normalised."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from assetlens.filters import PREFIX_FACETS, Facet
from assetlens.query import SearchQuery


def test_tag_prefix_is_normalised_and_an_empty_one_dropped() -> None:
    query = SearchQuery(workspace="w", facet_prefix={Facet.TAGS: " ＣＲÈ\u200b", Facet.MODEL: ""})
    assert query.facet_prefix == {Facet.TAGS: "crè"}


def test_other_prefixes_are_kept_as_given() -> None:
    query = SearchQuery(workspace="w", facet_prefix={Facet.MODEL: "SDXL "})
    assert query.facet_prefix == {Facet.MODEL: "SDXL "}


@pytest.mark.parametrize("facet", sorted(set(Facet) - PREFIX_FACETS))
def test_facets_of_labels_booleans_and_months_take_no_prefix(facet: Facet) -> None:
    with pytest.raises(ValidationError, match="only facets of text values"):
        SearchQuery(workspace="w", facet_prefix={facet: "1"})


def test_each_translation_carries_the_prefix_only_where_asked() -> None:
    from indexer.elasticsearch.translate import facet_aggregations
    from indexer.embedded.keyword_query import facet_aggregation

    query = SearchQuery(
        workspace="w", facets=[Facet.TAGS, Facet.MODEL], facet_prefix={Facet.TAGS: "a.b"}
    )
    aggs = facet_aggregations(query)
    assert aggs["tags"]["terms"]["include"] == "a\\.b.*"
    assert "include" not in aggs["model"]["terms"]
    assert facet_aggregation(Facet.TAGS, "a.b")["terms"]["include"] == "a\\x{2e}b(?s:.*)"
    assert "include" not in facet_aggregation(Facet.TAGS)["terms"]
