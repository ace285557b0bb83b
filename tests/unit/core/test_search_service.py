"""SearchService facets in semantic and hybrid mode (fakes and the embedded index)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assetlens.filters import FacetMode, Filters
from assetlens.manifests import Manifests
from assetlens.query import IndexDoc, SearchMode
from assetlens.services.search import SearchRequest, SearchService
from indexer.embedded import EmbeddedSearchIndex
from tests.contract.search_index_contract import WS, aid, make_asset
from tests.fakes import FakeEmbedder, FakeObjectStore


@pytest.fixture
def service(tmp_path: Path) -> Iterator[SearchService]:
    """Three red-ish or blue images by three models, all with a prompt saying "kite"."""
    embedder = FakeEmbedder()
    index = EmbeddedSearchIndex(tmp_path / "index")
    docs = []
    for label, colour, model in (
        ("r1", "red", "sdxl"),
        ("r2", "red", "flux"),
        ("b1", "blue", "sd15"),
    ):
        (vector,) = embedder.embed_texts([colour])
        docs.append(
            IndexDoc(
                asset=make_asset(label, prompt=f"{colour} kite", model=model),
                vector=vector,
                vector_model=embedder.model_id,
            )
        )
    index.upsert(docs)
    yield SearchService(index, embedder, Manifests(FakeObjectStore()))
    index.close()


def model_counts(
    service: SearchService, mode: SearchMode, facet_mode: FacetMode
) -> tuple[set[str], dict[str, int]]:
    page = service.search(
        WS,
        SearchRequest(
            q="red kite",
            mode=mode,
            filters=Filters(model=["sdxl"]),
            facets=["model"],
            facet_mode=facet_mode,
        ),
    )
    return ({h.asset.id for h in page.hits}, {b.value: b.count for b in page.facets["model"]})


@pytest.mark.parametrize("mode", [SearchMode.SEMANTIC, SearchMode.HYBRID])
def test_disjunctive_counts_rank_again_without_the_facet_field(
    service: SearchService, mode: SearchMode
) -> None:
    hits, conjunctive = model_counts(service, mode, FacetMode.CONJUNCTIVE)
    assert hits == {aid("r1")}
    assert conjunctive == {"sdxl": 1}
    hits, disjunctive = model_counts(service, mode, FacetMode.DISJUNCTIVE)
    assert hits == {aid("r1")}
    assert disjunctive == {"sdxl": 1, "flux": 1, "sd15": 1}


def test_keyword_text_keeps_its_trailing_space(service: SearchService) -> None:
    """A space after the last word says it is complete: `kit` while typing finds the kites,
    `kit ` (a finished word) finds nothing."""
    typing = service.search(WS, SearchRequest(q=" red kit", mode=SearchMode.KEYWORD))
    done = service.search(WS, SearchRequest(q="red kit ", mode=SearchMode.KEYWORD))
    assert {h.asset.id for h in typing.hits} == {aid("r1"), aid("r2")}
    assert done.hits == []
