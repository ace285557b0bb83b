"""The facet prefix (SearchQuery.facet_prefix) contract: every index adapter counts only the
values starting with the prefix, before cutting to facet_size, and reads the prefix as
plain text. Mix `FacetPrefixContract` into a SearchIndex contract subclass (it uses the
same `index` fixture)."""

from __future__ import annotations

import pytest

from assetlens.domain import AssetStatus
from assetlens.filters import Facet, FacetMode, Filters
from assetlens.ports import SearchIndex
from tests.contract.search_index_contract import (
    OTHER_WS,
    facet,
    make_asset,
    make_doc,
    put,
    search,
)

# Characters that mean something to a regular expression, a LIKE/GLOB pattern or FTS5.
LITERAL_TAGS = ["a.b", "axb", "a*", "aa", "a\\b", "a%", "a_", "(x)", "x)", "[y]", "y",
                "日本", "日", "é+1", "e+1", "^$", "q\"", "q"]  # fmt: skip


class FacetPrefixContract:
    """Facet prefixes on every backend. Needs an `index` fixture."""

    @pytest.fixture
    def many_tags(self, index: SearchIndex) -> SearchIndex:
        """30 tags used three times each, a rare tag used once, one in the trash and one in
        another workspace; every prompt but one has the word `castle`."""
        docs = [make_doc(make_asset(f"c{i}-{n}", tags=[f"common-{i:02}", "shared"],
                                    model="sdxl" if n else "flux", prompt="a castle"))
                for i in range(30) for n in range(3)]  # fmt: skip
        docs.append(make_doc(make_asset("rare", tags=["rare-one", "shared"], model="sdxl",
                                        prompt="a castle")))  # fmt: skip
        docs.append(make_doc(make_asset("rare-2", tags=["rare-two"], prompt="a lighthouse")))
        docs.append(make_doc(make_asset("gone", tags=["rare-trashed"], prompt="a castle",
                                        status=AssetStatus.DELETED)))  # fmt: skip
        docs.append(make_doc(make_asset("spy", workspace=OTHER_WS, tags=["rare-spy"],
                                        prompt="a castle")))  # fmt: skip
        put(index, *docs)
        return index

    def test_prefix_finds_a_value_below_the_top(self, many_tags: SearchIndex) -> None:
        top = search(many_tags, facets=[Facet.TAGS], facet_size=5, limit=1)
        assert "rare-one" not in dict(facet(top, Facet.TAGS))
        page = search(many_tags, facets=[Facet.TAGS], facet_size=5, limit=1,
                      facet_prefix={Facet.TAGS: "rare"})  # fmt: skip
        # Neither the trash (hidden by default) nor another workspace counts.
        assert facet(page, Facet.TAGS) == [("rare-one", 1), ("rare-two", 1)]
        assert page.total == 92, "the prefix narrows the facet, not the hits"

    def test_prefix_orders_by_count_and_cuts_after_filtering(self, many_tags: SearchIndex) -> None:
        page = search(many_tags, facets=[Facet.TAGS], facet_size=3, limit=1,
                      facet_prefix={Facet.TAGS: "common-1"})  # fmt: skip
        assert facet(page, Facet.TAGS) == [("common-10", 3), ("common-11", 3), ("common-12", 3)]

    def test_prefix_applies_to_its_facet_only(self, many_tags: SearchIndex) -> None:
        page = search(many_tags, facets=[Facet.TAGS, Facet.MODEL], limit=1,
                      facet_prefix={Facet.MODEL: "fl"})  # fmt: skip
        assert facet(page, Facet.MODEL) == [("flux", 30)]
        assert facet(page, Facet.TAGS)[0] == ("shared", 91)

    def test_prefix_with_a_word_most_documents_have(self, many_tags: SearchIndex) -> None:
        """A common word (which an engine may count by the complement of its hits): the
        prefix narrows the facets all the same, in both facet modes."""
        prefixes = {Facet.TAGS: "rare", Facet.MODEL: "fl"}
        page = search(many_tags, "castle", facets=[Facet.TAGS, Facet.MODEL], facet_size=5,
                      limit=2, facet_prefix=prefixes)  # fmt: skip
        assert page.total == 91
        assert facet(page, Facet.TAGS) == [("rare-one", 1)]
        assert facet(page, Facet.MODEL) == [("flux", 30)]
        narrowed = search(many_tags, "castle", filters=Filters(tags=["rare-one"]),
                          facets=[Facet.TAGS, Facet.MODEL], facet_mode=FacetMode.DISJUNCTIVE,
                          facet_size=5, limit=2, facet_prefix=prefixes)  # fmt: skip
        assert narrowed.total == 1
        assert facet(narrowed, Facet.TAGS) == [("rare-one", 1)]
        assert facet(narrowed, Facet.MODEL) == []

    def test_prefix_with_filters_text_and_disjunctive_mode(self, many_tags: SearchIndex) -> None:
        filters = Filters(tags=["common-03"], status=list(AssetStatus))
        page = search(many_tags, filters=filters, facets=[Facet.TAGS],
                      facet_mode=FacetMode.DISJUNCTIVE,
                      facet_prefix={Facet.TAGS: "rare-"})  # fmt: skip
        assert page.total == 3
        assert facet(page, Facet.TAGS) == [("rare-one", 1), ("rare-trashed", 1), ("rare-two", 1)]
        conjunctive = search(many_tags, filters=filters, facets=[Facet.TAGS],
                             facet_prefix={Facet.TAGS: "rare-"})  # fmt: skip
        assert facet(conjunctive, Facet.TAGS) == []

    def test_tag_prefix_is_compared_normalised(self, many_tags: SearchIndex) -> None:
        page = search(many_tags, facets=[Facet.TAGS], limit=1,
                      facet_prefix={Facet.TAGS: "ＲＡＲＥ-O"})  # fmt: skip
        assert facet(page, Facet.TAGS) == [("rare-one", 1)]

    @pytest.mark.parametrize(("prefix", "expected"), [
        ("a.", ["a.b"]), ("a*", ["a*"]), ("a\\", ["a\\b"]), ("a%", ["a%"]), ("a_", ["a_"]),
        ("(", ["(x)"]), ("x)", ["x)"]), ("[", ["[y]"]), ("日", ["日", "日本"]),
        ("é+", ["é+1"]), ("^$", ["^$"]), ("q\"", ["q\""]), ("zz", []),
    ])  # fmt: skip
    def test_prefix_is_plain_text(
        self, index: SearchIndex, prefix: str, expected: list[str]
    ) -> None:
        put(index, make_doc(make_asset("literal", tags=LITERAL_TAGS)))
        page = search(index, facets=[Facet.TAGS], limit=1, facet_prefix={Facet.TAGS: prefix})
        assert sorted(value for value, _ in facet(page, Facet.TAGS)) == expected
