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
from tests.contract.search_index_contract import SearchIndexContract
from tests.contract.search_words_contract import SearchWordsContract


class TestEmbeddedSqliteEngine(SearchIndexContract, SearchWordsContract,
                               FacetPrefixContract, CommonWordContract):
    @pytest.fixture
    def index(self, tmp_path: Path) -> Iterator[SearchIndex]:
        index = EmbeddedSearchIndex(tmp_path / "index", engine="sqlite")
        index.ensure()
        yield index
        index.close()
