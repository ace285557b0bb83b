"""The SearchIndex contract against the embedded (SQLite) adapter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assetlens.ports import SearchIndex
from indexer.embedded import EmbeddedSearchIndex
from indexer.embedded.ann import AnnSettings
from tests.contract.common_word_contract import CommonWordContract
from tests.contract.facet_prefix_contract import FacetPrefixContract
from tests.contract.search_index_contract import SearchIndexContract
from tests.contract.search_words_contract import SearchWordsContract


class TestEmbeddedSearchIndex(
    SearchIndexContract, SearchWordsContract, FacetPrefixContract, CommonWordContract
):
    @pytest.fixture
    def index(self, tmp_path: Path) -> Iterator[SearchIndex]:
        index = EmbeddedSearchIndex(tmp_path / "index")
        index.ensure()
        yield index
        index.close()


class TestEmbeddedAnnSearchIndex(TestEmbeddedSearchIndex):
    """The same contract with the HNSW path taken for every kNN: threshold 0, every filtered
    set through the graph, folds inside the query and a delta of up to two rows beside it."""

    @pytest.fixture
    def index(self, tmp_path: Path) -> Iterator[SearchIndex]:
        ann = AnnSettings(threshold=0, fold_after=2, exact_below=0, background=False)
        index = EmbeddedSearchIndex(tmp_path / "index", ann=ann)
        index.ensure()
        yield index
        index.close()
