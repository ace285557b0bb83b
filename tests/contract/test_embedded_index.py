"""The SearchIndex contract against the embedded (SQLite) adapter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assetlens.ports import SearchIndex
from indexer.embedded import EmbeddedSearchIndex
from tests.contract.search_index_contract import SearchIndexContract
from tests.contract.search_words_contract import SearchWordsContract


class TestEmbeddedSearchIndex(SearchIndexContract, SearchWordsContract):
    @pytest.fixture
    def index(self, tmp_path: Path) -> Iterator[SearchIndex]:
        index = EmbeddedSearchIndex(tmp_path / "index")
        index.ensure()
        yield index
        index.close()
