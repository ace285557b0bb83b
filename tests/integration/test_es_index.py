"""The SearchIndex contract, unchanged, against a REAL Elasticsearch node; plus what only
Elasticsearch needs: parity with the embedded backend, rebuilds under load, aliases,
external versioning and the strict mapping."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
from elastic_transport import ConnectionTimeout
from elasticsearch import BadRequestError, Elasticsearch

from assetlens.domain import AssetStatus, AssetType, Source
from assetlens.errors import IndexUnavailable
from assetlens.filters import Facet, FacetMode, Filters, created_month
from assetlens.ports import SearchIndex
from assetlens.query import FacetBucket, IndexDoc, SearchQuery, Sort, SortField, VectorQuery
from indexer.elasticsearch import ElasticsearchIndex, IndexRejected
from indexer.elasticsearch.failures import RetryPolicy
from indexer.elasticsearch.mapping import (
    ADDED_FIELDS,
    MAPPING_VERSION,
    doc_id,
    document,
    index_settings,
    mappings,
)
from indexer.embedded import EmbeddedSearchIndex
from tests.contract.common_word_contract import CommonWordContract
from tests.contract.facet_prefix_contract import FacetPrefixContract
from tests.contract.search_index_contract import (
    DIM,
    FACET_DOCS,
    MODEL,
    OTHER_WS,
    T0,
    WS,
    SearchIndexContract,
    aid,
    ids_of,
    make_asset,
    make_doc,
    on,
    paginate,
    put,
    unit,
)
from tests.contract.search_words_contract import SearchWordsContract
from tests.integration.es_fixtures import IndexFactory, es_client, es_indices, es_service, es_url

pytestmark = pytest.mark.integration
__all__ = ["es_indices", "es_service", "es_url"]  # fixtures used by this module


class TestElasticsearchIndex(
    SearchIndexContract, SearchWordsContract, FacetPrefixContract, CommonWordContract
):
    @pytest.fixture
    def index(self, es_indices: IndexFactory) -> SearchIndex:
        return es_indices()


# -- parity with the embedded backend ---------------------------------------------------

PARITY_DOCS = [
    *FACET_DOCS,
    make_asset("p1", name="sunset_beach_01.png", prompt="don't panic, café au lait",
               description="Crème brûlée in São Paulo", tags=["Beach Day"], created=on(4, 1),
               size=2 * 1024 * 1024, model="flux", source=Source.GENERATION, cost=0.04),
    make_asset("p2", name="Lighthouse.png", prompt="lighthouse on a cliff, lighthouse keeper",
               created=on(4, 2), size=70_000, tags=["sea"], cost=0.05),
    make_asset("p3", name="tokyo.jpg", prompt="東京タワーの夜景", texts=["KSampler: neon 夜"],
               created=on(4, 3), tags=["night", "city"], model="sdxl", cost=0.1),
    make_asset("p4", name="seoul.png", prompt="서울 야경 night", created=on(4, 4), tags=["night"],
               cost=0),
    make_asset("p5", name="moscow.png", prompt="Красная площадь ночью", created=on(4, 5)),
    make_asset("p6", name="cafe-menu.txt", type=AssetType.TEXT, description="cafe menu, naïve art",
               created=on(4, 6), size=300),
    make_asset("p7", name="v2.0_release-notes.txt", type=AssetType.TEXT,
               prompt="version 3.14 notes; sunset of v1", created=on(4, 7)),
    make_asset("p8", name="harbour.png", description="a lighthouse far away in the harbour",
               created=on(4, 8), status=AssetStatus.FAILED),
]  # fmt: skip
PARITY_TEXTS = [
    "sunset", "beach", "sunset_beach", "beach day", "don't", "panic", "cafe", "café", "CAFÉ",
    "creme brulee", "sao paulo", "东京", "東京", "タワー", "夜", "夜景", "서울", "площадь",
    "ПЛОЩАДЬ", "naive", "3.14", "v2", "release notes", "lighthouse", "lighthouse keeper",
    "owner:*", "cat", "sunset dog", "red sunset", "timelapse", "a", "the", "night city",
    "NEAR(river", "sunset -whale", "*", "",
]  # fmt: skip
PARITY_FILTERS = [
    Filters(),
    Filters(type=[AssetType.IMAGE]),
    Filters(tags=["night"]),
    Filters(model=["sdxl", "flux"]),
    Filters(created_from=on(2, 1), created_to=on(4, 3)),
    Filters(size_min=60_000),
    Filters(status=[AssetStatus.FAILED, AssetStatus.READY]),
    Filters(ai_generated=True, source=["generation"]),
    Filters(favorite=True),
    Filters(favorite=False, created_month=["2024-04", "2024-02"]),
    Filters(size_range=["<100KB", "1MB-10MB"], type=[AssetType.IMAGE, AssetType.TEXT]),
    Filters(tags=["night", "cat"], model=["sdxl"], status=[AssetStatus.FAILED]),
    Filters(cost_range=["0", "0.01-0.1"]),
    Filters(cost_min=0.05, cost_max=12.5, type=[AssetType.IMAGE]),
]
PARITY_FACETS = list(Facet)


def _vectors(count: int, seed: int) -> list[list[float]]:
    rng = np.random.default_rng(seed)
    matrix = rng.normal(size=(count, DIM))
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    return [[float(x) for x in row] for row in matrix]


def _parity_docs() -> list[IndexDoc]:
    vectors = _vectors(len(PARITY_DOCS), seed=7)
    return [make_doc(asset, vector) for asset, vector in zip(PARITY_DOCS, vectors, strict=True)]


@pytest.fixture
def both(es_indices: IndexFactory, tmp_path: Path) -> Iterator[tuple[SearchIndex, SearchIndex]]:
    """The same documents in an embedded and an Elasticsearch index."""
    embedded = EmbeddedSearchIndex(tmp_path / "embedded")
    embedded.ensure()
    es = es_indices()
    for index in (embedded, es):
        put(index, *_parity_docs())
    yield embedded, es
    embedded.close()


def _exact_scores(query: VectorQuery) -> dict[str, float]:
    """Dot products of the query with every parity doc's vector, by asset id."""
    return {
        d.asset.id: float(np.dot(d.vector, query.vector))
        for d in _parity_docs()
        if d.vector is not None and d.asset.workspace == WS
    }


@pytest.mark.parametrize("text", PARITY_TEXTS)
def test_text_queries_match_the_embedded_backend(
    both: tuple[SearchIndex, SearchIndex], text: str
) -> None:
    embedded, es = both
    for filters in PARITY_FILTERS:
        query = SearchQuery(workspace=WS, text=text, filters=filters, limit=100)
        want, got = embedded.search(query), es.search(query)
        assert got.total == want.total, (text, filters)
        assert set(ids_of(got)) == set(ids_of(want)), (text, filters)


def test_relevance_leaders_match_the_embedded_backend(
    both: tuple[SearchIndex, SearchIndex],
) -> None:
    """Where one asset clearly leads (name/prompt vs description), both put it first. (FTS5
    gives a word found in over half the documents an IDF of ~0, so its ranking there is
    all ties; such words are left out.)"""
    embedded, es = both
    compared = 0
    for text in ("lighthouse", "cafe", "night", "panic", "площадь", "夜"):
        query = SearchQuery(workspace=WS, text=text, limit=100)
        want, got = embedded.search(query), es.search(query)
        assert sorted(ids_of(got)) == sorted(ids_of(want)), text
        scores = [h.score or 0.0 for h in want.hits]
        if len(scores) > 1 and scores[0] < 1.2 * scores[1]:
            continue
        assert ids_of(got)[0] == ids_of(want)[0], text
        compared += 1
    assert compared >= 4


@pytest.mark.parametrize("field", [f for f in SortField if f is not SortField.RELEVANCE])
@pytest.mark.parametrize("descending", [False, True])
def test_sorted_pages_match_the_embedded_backend(
    both: tuple[SearchIndex, SearchIndex], field: SortField, descending: bool
) -> None:
    embedded, es = both
    for text in (None, "sunset", "night"):
        query = SearchQuery(workspace=WS, text=text, sort=Sort(field=field, descending=descending),
                            limit=3)  # fmt: skip
        want = [ids_of(p) for p in paginate(embedded, query)]
        got = [ids_of(p) for p in paginate(es, query)]
        assert got == want, (field, descending, text)


@pytest.mark.parametrize("mode", list(FacetMode))
def test_facets_match_the_embedded_backend(
    both: tuple[SearchIndex, SearchIndex], mode: FacetMode
) -> None:
    embedded, es = both
    for text in (None, "sunset", "night", "lighthouse"):
        for filters in PARITY_FILTERS:
            for size in (1, 2, 20):
                query = SearchQuery(workspace=WS, text=text, filters=filters, facet_mode=mode,
                                    facets=PARITY_FACETS, facet_size=size, limit=1)  # fmt: skip
                want, got = embedded.search(query), es.search(query)
                assert got.facets == want.facets, (text, filters, size)
                assert got.total == want.total, (text, filters)


def test_stats_match_the_embedded_backend(both: tuple[SearchIndex, SearchIndex]) -> None:
    embedded, es = both
    for workspace in (WS, OTHER_WS, "ws-empty"):
        assert es.stats(workspace) == embedded.stats(workspace), workspace


def test_knn_matches_the_embedded_backend(both: tuple[SearchIndex, SearchIndex]) -> None:
    """Same hits in the same order, except that int8 quantisation may swap near-ties: at
    every rank Elasticsearch's hit truly scores what the embedded (exact) hit there does."""
    embedded, es = both
    vector_filters = [*PARITY_FILTERS, Filters(ids=[aid("p1"), aid("p3"), aid("f2")])]
    for vector in _vectors(10, seed=11):
        for filters in vector_filters:
            for k in (1, 3, 20):
                query = VectorQuery(workspace=WS, vector=vector, model=MODEL, k=k,
                                    filters=filters, exclude_ids=[aid("p2")])  # fmt: skip
                want, got = embedded.knn(query), es.knn(query)
                exact = _exact_scores(query)
                assert len(got) == len(want), (filters, k)
                for mine, theirs in zip(got, want, strict=True):
                    assert exact[mine.asset.id] == pytest.approx(theirs.score, abs=0.03)
                    assert mine.score == pytest.approx(exact[mine.asset.id], abs=0.02)
                # (`not want` first: min() of no hits is an error, not an empty bound.)
                assert not want or {h.asset.id for h in got} <= {
                    i for i, s in exact.items() if s >= min(h.score or 0 for h in want) - 0.03
                }


# -- rebuild ----------------------------------------------------------------------------


def _doc(label: str, prompt: str, vector: list[float], **kwargs: Any) -> IndexDoc:
    return make_doc(make_asset(label, prompt=prompt, **kwargs), vector)


def test_rebuild_while_searching_never_fails_or_comes_back_empty(
    es_indices: IndexFactory, es_url: str
) -> None:
    index = es_indices()
    vectors = _vectors(50, seed=3)
    index.upsert([_doc(f"old{i}", f"common old {i}", vectors[i % 50]) for i in range(300)])
    index.refresh()
    before = index.physical_indices()
    stop = threading.Event()
    errors: list[BaseException] = []
    empty: list[str] = []
    rounds = [0]

    def search_loop() -> None:
        while not stop.is_set():
            try:
                page = index.search(SearchQuery(workspace=WS, text="common", limit=5,
                                                facets=[Facet.TYPE]))  # fmt: skip
                near = index.knn(VectorQuery(workspace=WS, vector=vectors[0], model=MODEL, k=5))
            except BaseException as exc:
                errors.append(exc)
                continue
            if page.total == 0 or not page.hits or not near:
                empty.append(f"total={page.total} hits={len(page.hits)} knn={len(near)}")
            rounds[0] += 1

    thread = threading.Thread(target=search_loop, daemon=True)
    thread.start()
    try:
        time.sleep(0.3)
        count = index.rebuild(
            _doc(f"new{i}", f"common new {i}", vectors[i % 50]) for i in range(3000)
        )
        time.sleep(0.5)  # keep searching the new index for a moment
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()
    assert errors == []
    assert empty == []
    assert rounds[0] >= 10
    assert count == 3000
    after = index.physical_indices()
    assert len(after) == 1 and after != before and index.owns(after[0])
    assert index.search(SearchQuery(workspace=WS, text="old", limit=1)).total == 0
    assert index.search(SearchQuery(workspace=WS, text="common", limit=1)).total == 3000
    # The old physical index is gone (deleted by exact name).
    client = es_client(es_url)
    try:
        assert not client.indices.exists(index=before[0])
    finally:
        client.close()


@pytest.mark.parametrize("shards", [1, 3])
def test_rebuild_keeps_writes_made_while_it_runs(
    es_indices: IndexFactory, es_url: str, shards: int
) -> None:
    index = es_indices(shards=shards)
    # Another writer (as another process would be), with its own client and caches.
    other = ElasticsearchIndex(es_client(es_url), index.alias)
    try:
        put(index, make_doc(make_asset("keep", prompt="first")), make_doc(make_asset("drop")))

        def docs() -> Iterator[IndexDoc]:
            yield make_doc(make_asset("keep", prompt="first"))
            yield make_doc(make_asset("drop"))
            other.upsert([make_doc(make_asset("late", prompt="written during the rebuild"),
                                   unit(0, 1))])  # fmt: skip
            other.upsert([make_doc(make_asset("keep", prompt="second", revision=2))])
            index.remove(WS, [aid("drop")])
            yield make_doc(make_asset("store-only"))

        assert index.rebuild(docs()) == 3
        index.refresh()
        late = index.get(WS, aid("late"))
        assert late is not None and late.vector == pytest.approx(unit(0, 1), abs=1e-6)
        kept = index.get(WS, aid("keep"))
        assert kept is not None and kept.asset.revision == 2
        assert index.get(WS, aid("drop")) is None
        assert index.get(WS, aid("store-only")) is not None
        # The other writer keeps working after the swap (its vector field cache is stale).
        other.upsert([make_doc(make_asset("after", prompt="after"), unit(1, 1))])
        index.refresh()
        hits = index.knn(VectorQuery(workspace=WS, vector=unit(1, 1), model=MODEL, k=1))
        assert [h.asset.id for h in hits] == [aid("after")]
    finally:
        other.close()


def test_failed_rebuild_leaves_the_index_untouched(es_indices: IndexFactory, es_url: str) -> None:
    index = es_indices()
    put(index, make_doc(make_asset("old", prompt="granite")))
    before = index.physical_indices()

    def docs() -> Iterator[IndexDoc]:
        yield make_doc(make_asset("new", prompt="marble"))
        raise RuntimeError("store read failed")

    with pytest.raises(RuntimeError):
        index.rebuild(docs())
    assert index.physical_indices() == before
    assert ids_of(index.search(SearchQuery(workspace=WS, text="granite"))) == [aid("old")]
    # No half-built physical index was left behind.
    client = es_client(es_url)
    try:
        assert list(client.indices.get(index=f"{index.alias}-*").body) == before
    finally:
        client.close()


# -- aliases, versions, mapping ---------------------------------------------------------


def test_ensure_is_idempotent_and_goes_through_an_alias(es_indices: IndexFactory) -> None:
    index = es_indices()
    first = index.physical_indices()
    index.ensure()
    assert index.physical_indices() == first
    assert len(first) == 1 and index.owns(first[0]) and first[0] != index.alias


class _LosesTheFirstCreateAnswer:
    """A client whose first index creation succeeds on the node but times out on the way
    back, as on a loaded machine: the adapter's retry then finds its index there."""

    def __init__(self, client: Elasticsearch) -> None:
        self._client = client
        self.lost = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    @property
    def indices(self) -> Any:
        outer, real = self, self._client.indices

        class Indices:
            def __getattr__(self, name: str) -> Any:
                return getattr(real, name)

            def create(self, **kwargs: Any) -> Any:
                answer = real.create(**kwargs)
                if not outer.lost:
                    outer.lost += 1
                    raise ConnectionTimeout("the answer was lost")
                return answer

        return Indices()


def test_ensure_survives_a_create_whose_answer_was_lost(es_url: str) -> None:
    client = _LosesTheFirstCreateAnswer(es_client(es_url))
    index = ElasticsearchIndex(
        cast(Elasticsearch, client),
        f"it-lost-{uuid.uuid4().hex[:12]}",
        retry=RetryPolicy(attempts=3, initial_backoff_s=0.05),
    )
    try:
        index.ensure()
        assert client.lost == 1
        assert len(index.physical_indices()) == 1
        put(index, make_doc(make_asset("one", prompt="hello"), unit(1)))
        assert ids_of(index.search(SearchQuery(workspace=WS, text="hello"))) == [aid("one")]
    finally:
        index.drop()
        index.close()


def test_first_upsert_creates_the_alias_not_a_concrete_index(es_indices: IndexFactory) -> None:
    index = es_indices(ensure=False)
    assert index.physical_indices() == []
    put(index, make_doc(make_asset("one", prompt="hello"), unit(1)))
    physical = index.physical_indices()
    assert len(physical) == 1 and index.owns(physical[0])
    assert ids_of(index.search(SearchQuery(workspace=WS, text="hello"))) == [aid("one")]


def test_search_on_a_missing_index_is_unavailable(es_url: str) -> None:
    index = ElasticsearchIndex(es_client(es_url), "it-never-created",
                               retry=RetryPolicy(attempts=2, initial_backoff_s=0.05))  # fmt: skip
    try:
        with pytest.raises(IndexUnavailable, match="does not exist"):
            index.search(SearchQuery(workspace=WS, text="x"))
    finally:
        index.close()


def test_removed_revision_can_be_indexed_again(es_indices: IndexFactory) -> None:
    index = es_indices()
    put(index, make_doc(make_asset("one", prompt="lighthouse", revision=4)))
    index.remove(WS, [aid("one")])
    index.refresh()
    assert index.get(WS, aid("one")) is None
    put(index, make_doc(make_asset("one", prompt="lighthouse", revision=4)))
    got = index.get(WS, aid("one"))
    assert got is not None and got.asset.revision == 4


def test_a_vector_that_is_not_unit_length_is_rejected_clearly(es_indices: IndexFactory) -> None:
    index = es_indices()
    with pytest.raises(IndexRejected, match="unit-length"):
        index.upsert([make_doc(make_asset("bad"), [1.0, 1.0, *([0.0] * (DIM - 2))])])


def test_mapping_is_strict_and_vectors_are_int8_hnsw(es_indices: IndexFactory, es_url: str) -> None:
    index = es_indices()
    put(index, make_doc(make_asset("clip"), _vectors(1, seed=1)[0] + [0.0] * (512 - DIM)))
    client = es_client(es_url)
    try:
        with pytest.raises(BadRequestError) as raised:
            client.index(index=index.alias, id="x", document={"workspace": WS, "unknown": 1})
        assert raised.value.body["error"]["type"] == "strict_dynamic_mapping_exception"
        (mapping,) = client.indices.get_mapping(index=index.alias).body.values()
        assert mapping["mappings"]["dynamic"] == "strict"
        vector = mapping["mappings"]["properties"]["vector_512"]
        assert vector["index_options"]["type"] == "int8_hnsw"
        assert vector["similarity"] == "dot_product"
    finally:
        client.close()


def test_knn_on_512_dimensions_finds_each_vector_itself(es_indices: IndexFactory) -> None:
    index = es_indices()
    rng = np.random.default_rng(42)
    matrix = rng.normal(size=(400, 512))
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    index.upsert([make_doc(make_asset(f"v{i}"), [float(x) for x in row])
                  for i, row in enumerate(matrix)])  # fmt: skip
    index.refresh()
    for i in range(0, 400, 20):
        hits = index.knn(VectorQuery(workspace=WS, vector=[float(x) for x in matrix[i]],
                                     model=MODEL, k=5))  # fmt: skip
        assert hits[0].asset.id == aid(f"v{i}")
        # The best 2×k are rescored with the float vectors: scores are exact dot products.
        assert hits[0].score == pytest.approx(1.0, abs=1e-4)
        exact = matrix @ matrix[i]
        for hit in hits:
            j = int(hit.asset.name.removeprefix("v").removesuffix(".png"))
            assert hit.score == pytest.approx(float(exact[j]), abs=1e-4)
        assert [h.asset.id for h in hits] == [aid(f"v{j}") for j in np.argsort(-exact)[:5]]


def test_revisions_pages_through_many_documents(es_indices: IndexFactory) -> None:
    index = es_indices()
    docs = [make_doc(make_asset(f"r{i}", revision=1 + i % 5)) for i in range(2300)]
    index.upsert(docs)
    index.refresh()
    got = sorted(index.revisions())
    assert got == sorted((WS, d.asset.id, d.asset.revision) for d in docs)


def test_ensure_upgrades_an_index_made_before_favourites_and_costs(
    es_indices: IndexFactory, es_url: str
) -> None:
    """An index made by mapping version 1 (no `favorite`, `cost`, `sha256`, `names`, `stems`)
    gets the fields on ensure; its old documents count as no favourite and no cost, and have
    no word forms, until reindexed; new ones are indexed in full."""
    index = es_indices(ensure=False)
    old_mapping = mappings()
    del old_mapping["_meta"]
    for field in ADDED_FIELDS:
        del old_mapping["properties"][field]
    old = make_asset("old", prompt="lighthouse", created=datetime(2023, 7, 4, tzinfo=UTC))
    old_source = document(make_doc(old))
    for field in ADDED_FIELDS:
        del old_source[field]
    physical = f"{index.alias}-20240101000000000-0ld1"
    client = es_client(es_url)
    try:
        client.indices.create(index=physical, settings=index_settings(), mappings=old_mapping,
                              aliases={index.alias: {}})  # fmt: skip
        client.index(index=index.alias, id=doc_id(WS, old.id), document=old_source,
                     version=1, version_type="external_gte", refresh=True)  # fmt: skip
        index.ensure()
        (mapping,) = client.indices.get_mapping(index=index.alias).body.values()
        assert mapping["mappings"]["_meta"] == {"version": MAPPING_VERSION}
        assert mapping["mappings"]["properties"]["favorite"] == {"type": "boolean"}
        assert mapping["mappings"]["properties"]["cost"] == {"type": "double"}
        put(index, make_doc(make_asset("new", prompt="lighthouse", favorite=True, cost=0.5)))
        page = index.search(SearchQuery(workspace=WS, facets=[Facet.FAVORITE]))
        assert page.facets["favorite"] == [FacetBucket(value="false", count=1),
                                           FacetBucket(value="true", count=1)]  # fmt: skip
        # The old document has no created_month: the months come from the date histogram.
        months = [FacetBucket(value=created_month(T0), count=1),
                  FacetBucket(value="2023-07", count=1)]  # fmt: skip
        for text in (None, "lighthouse"):
            query = SearchQuery(workspace=WS, text=text, facets=[Facet.CREATED])
            assert index.search(query).facets["created"] == months
        assert ids_of(index.search(SearchQuery(workspace=WS, filters=Filters(favorite=False)))) == [
            old.id
        ]
        assert ids_of(index.search(SearchQuery(workspace=WS, filters=Filters(favorite=True)))) == [
            aid("new")
        ]
        # The old document has no cost (until reindexed): outside every cost range, last.
        page = index.search(
            SearchQuery(
                workspace=WS, facets=[Facet.COST], sort=Sort(field=SortField.COST, descending=False)
            )
        )
        assert page.facets["cost"] == [FacetBucket(value="0.1-1", count=1)]
        assert ids_of(page) == [aid("new"), old.id]
        index.ensure()  # already current: nothing to do, nothing breaks
        # Without `stems` and `names` (docs/SEARCH.md), the old document is found by its
        # exact words and as a prefix, by its word forms only once reindexed.
        both = {old.id, aid("new")}
        assert set(ids_of(index.search(SearchQuery(workspace=WS, text="lighthouse ")))) == both
        assert set(ids_of(index.search(SearchQuery(workspace=WS, text="lighth")))) == both
        plural = SearchQuery(workspace=WS, text="lighthouses")
        assert ids_of(index.search(plural)) == [aid("new")]
        put(index, make_doc(old.model_copy(update={"revision": 2})))
        assert set(ids_of(index.search(plural))) == both
        assert (
            index.search(SearchQuery(workspace=WS, facets=[Facet.CREATED])).facets["created"]
            == months
        )
    finally:
        client.close()
