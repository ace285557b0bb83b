"""`mode: "auto"` (the default): hybrid with a CLIP model, keyword without one, and the
response says which (`mode_used`); explicit semantic/hybrid keep their 503."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from assetlens.errors import EmbeddingUnavailable
from assetlens.manifests import Manifests
from assetlens.ports import Embedder
from assetlens.query import IndexDoc, RankedBy, SearchMode
from assetlens.services.search import SearchRequest, SearchService
from indexer.embedded import EmbeddedSearchIndex
from tests.contract.search_index_contract import aid, make_asset
from tests.fakes import FakeEmbedder, FakeObjectStore

WS = "ws-main"


class VanishingEmbedder(FakeEmbedder):
    """Says it is available, then fails to embed (weights removed under a running server)."""

    def embed_texts(self, texts: Sequence[str]) -> list[list[float]]:
        raise EmbeddingUnavailable("the weights went away")


@pytest.fixture
def index(tmp_path: Path) -> Iterator[EmbeddedSearchIndex]:
    """A red kite (with a red vector) and a blue kite (with a blue one)."""
    embedder = FakeEmbedder()
    index = EmbeddedSearchIndex(tmp_path / "index")
    docs = []
    for colour in ("red", "blue"):
        (vector,) = embedder.embed_texts([colour])
        docs.append(
            IndexDoc(
                asset=make_asset(colour, prompt=f"{colour} kite"),
                vector=vector,
                vector_model=embedder.model_id,
            )
        )
    index.upsert(docs)
    yield index
    index.close()


def service(index: EmbeddedSearchIndex, embedder: Embedder | None) -> SearchService:
    return SearchService(index, embedder, Manifests(FakeObjectStore()))


def test_auto_is_the_default_and_hybrid_with_a_model(index: EmbeddedSearchIndex) -> None:
    assert SearchRequest().mode is SearchMode.AUTO
    page = service(index, FakeEmbedder()).search(WS, SearchRequest(q="red"))
    assert page.mode_used is RankedBy.HYBRID
    # Keyword finds the red kite by its prompt; the vectors add the blue one after it.
    assert [hit.asset.id for hit in page.hits] == [aid("red"), aid("blue")]


@pytest.mark.parametrize(
    "embedder",
    [FakeEmbedder(available=False), None, VanishingEmbedder()],
    ids=["no-weights", "clip-disabled", "weights-gone"],
)
def test_auto_without_a_model_is_keyword(
    index: EmbeddedSearchIndex, embedder: Embedder | None
) -> None:
    page = service(index, embedder).search(WS, SearchRequest(q="red"))
    assert page.mode_used is RankedBy.KEYWORD
    assert [hit.asset.id for hit in page.hits] == [aid("red")]


def test_auto_is_keyword_for_a_listing_or_an_explicit_order(index: EmbeddedSearchIndex) -> None:
    search = service(index, FakeEmbedder())
    listing = search.search(WS, SearchRequest())
    assert listing.mode_used is RankedBy.KEYWORD
    assert listing.total == 2
    by_name = search.search(WS, SearchRequest(q="kite", sort="name"))
    assert by_name.mode_used is RankedBy.KEYWORD
    assert [hit.asset.id for hit in by_name.hits] == [aid("blue"), aid("red")]


@pytest.mark.parametrize("mode", [SearchMode.SEMANTIC, SearchMode.HYBRID])
def test_explicit_vector_modes_still_need_a_model(
    index: EmbeddedSearchIndex, mode: SearchMode
) -> None:
    with pytest.raises(EmbeddingUnavailable):
        service(index, FakeEmbedder(available=False)).search(WS, SearchRequest(q="red", mode=mode))
    page = service(index, FakeEmbedder()).search(WS, SearchRequest(q="red", mode=mode))
    assert page.mode_used is RankedBy(mode.value)


def test_explicit_keyword_stays_keyword_with_a_model(index: EmbeddedSearchIndex) -> None:
    page = service(index, FakeEmbedder()).search(
        WS, SearchRequest(q="red", mode=SearchMode.KEYWORD)
    )
    assert page.mode_used is RankedBy.KEYWORD
    assert [hit.asset.id for hit in page.hits] == [aid("red")]


class SwitchedEmbedder(FakeEmbedder):
    """A model that can be loaded or lost between two requests; `vanish` keeps it saying
    it is available while every embedding fails."""

    def __init__(self) -> None:
        super().__init__()
        self.on = True
        self.vanish = False

    def available(self) -> bool:
        return self.on

    def embed_texts(self, texts: Sequence[str]) -> list[list[float]]:
        if not self.on or self.vanish:
            raise EmbeddingUnavailable("the weights went away")
        return super().embed_texts(texts)


@pytest.mark.parametrize("loss", ["unloaded", "weights-gone"])
def test_an_auto_hybrid_cursor_answers_503_once_the_model_is_lost(
    index: EmbeddedSearchIndex, loss: str
) -> None:
    """Page 2 of a hybrid `auto` search cannot run as keyword (its cursor is a rank offset):
    without the model it is an outage (503), not a bad cursor (422)."""
    embedder = SwitchedEmbedder()
    search = service(index, embedder)
    first = search.search(WS, SearchRequest(q="kite", limit=1))
    assert first.mode_used is RankedBy.HYBRID and first.next_cursor
    if loss == "unloaded":
        embedder.on = False
    else:
        embedder.vanish = True
    with pytest.raises(EmbeddingUnavailable, match="without the cursor"):
        search.search(WS, SearchRequest(q="kite", limit=1, cursor=first.next_cursor))
    embedder.on, embedder.vanish = True, False
    second = search.search(WS, SearchRequest(q="kite", limit=1, cursor=first.next_cursor))
    assert second.mode_used is RankedBy.HYBRID
    assert {first.hits[0].asset.id, second.hits[0].asset.id} == {aid("red"), aid("blue")}


def test_an_auto_keyword_cursor_stays_keyword_once_a_model_loads(
    index: EmbeddedSearchIndex,
) -> None:
    embedder = SwitchedEmbedder()
    embedder.on = False
    search = service(index, embedder)
    first = search.search(WS, SearchRequest(q="kite", limit=1))
    assert first.mode_used is RankedBy.KEYWORD and first.next_cursor
    embedder.on = True
    second = search.search(WS, SearchRequest(q="kite", limit=1, cursor=first.next_cursor))
    assert second.mode_used is RankedBy.KEYWORD
    assert {first.hits[0].asset.id, second.hits[0].asset.id} == {aid("red"), aid("blue")}
    assert second.next_cursor is None
