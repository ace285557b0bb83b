"""The SearchIndex contract against the embedded adapter with keyword search on SQLite FTS5
alone (`embedded_search_engine = "sqlite"`), the engine before tantivy, kept as a setting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assetlens.ports import SearchIndex
from indexer.embedded import EmbeddedSearchIndex
from tests.contract.common_word_contract import CommonWordContract
from tests.contract.facet_prefix_contract import FacetPrefixContract
from tests.contract.search_index_contract import (
    SearchIndexContract,
    aid,
    ids_of,
    make_asset,
    make_doc,
    put,
    search,
)
from tests.contract.search_words_contract import SearchWordsContract


class TestEmbeddedSqliteEngine(
    SearchIndexContract, SearchWordsContract, FacetPrefixContract, CommonWordContract
):
    @pytest.fixture
    def index(self, tmp_path: Path) -> Iterator[SearchIndex]:
        index = EmbeddedSearchIndex(tmp_path / "index", engine="sqlite")
        index.ensure()
        yield index
        index.close()

    def test_the_typed_word_itself_ranks_above_the_longer_words_it_begins(
        self, index: SearchIndex
    ) -> None:
        """FTS5's bm25 cannot weigh the prefix phrase below the exact one (weights are per
        column), so this engine keeps only the part of the rule it can: the same assets are
        found, and a longer word is found by the typed text (docs/SEARCH.md)."""
        put(
            index,
            make_doc(make_asset("longer", name="category.png", prompt="category, catalogue")),
            make_doc(make_asset("exact", description="a cat on a long road")),
            make_doc(make_asset("none", prompt="a dog")),
        )
        assert set(ids_of(search(index, "cat"))) == {aid("longer"), aid("exact")}
        assert ids_of(search(index, "categ")) == [aid("longer")]
