"""The Elasticsearch bulk path against a REAL node: vectors kept out of the stored `_source`
yet read back exactly, and a rebuild that bulk-loads a new index with refresh, replicas and
per-request translog fsync off, several requests in flight, then restores them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from assetlens.query import IndexDoc, SearchQuery, VectorQuery
from indexer.elasticsearch import IndexRejected
from indexer.elasticsearch.mapping import doc_id, vector_field
from tests.contract.search_index_contract import (
    DIM,
    MODEL,
    WS,
    aid,
    ids_of,
    make_asset,
    make_doc,
    put,
    unit,
)
from tests.integration.es_fixtures import IndexFactory, es_client, es_indices, es_service, es_url

pytestmark = pytest.mark.integration
__all__ = ["es_indices", "es_service", "es_url"]  # fixtures used by this module


def _settings(url: str, physical: str) -> dict[str, Any]:
    client = es_client(url)
    try:
        body = client.indices.get_settings(index=physical, flat_settings=True).body
    finally:
        client.close()
    settings: dict[str, Any] = body[physical]["settings"]
    return settings


def _random_units(count: int, seed: int) -> list[list[float]]:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((count, DIM))
    normed: list[list[float]] = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).tolist()
    return normed


def test_vectors_are_not_in_the_stored_source_but_read_back(
    es_indices: IndexFactory, es_url: str
) -> None:
    index = es_indices()
    vector = _random_units(1, seed=3)[0]
    put(index, make_doc(make_asset("v", prompt="a vector"), vector))
    client = es_client(es_url)
    try:
        _id = doc_id(WS, aid("v"))
        stored = client.get(index=index.alias, id=_id).body["_source"]
        assert vector_field(DIM) not in stored
        assert stored["vector_model"] == MODEL
        synthesised = client.get(index=index.alias, id=_id, source_exclude_vectors=False)
        assert synthesised.body["_source"][vector_field(DIM)] == pytest.approx(vector, abs=1e-6)
    finally:
        client.close()
    got = index.get(WS, aid("v"))
    assert got is not None and got.vector == pytest.approx(vector, abs=1e-6)
    hits = index.knn(VectorQuery(workspace=WS, vector=vector, model=MODEL, k=1))
    assert [h.asset.id for h in hits] == [aid("v")]
    assert hits[0].score == pytest.approx(1.0, abs=1e-4)


def test_rebuild_bulk_loads_then_restores_the_serving_settings(
    es_indices: IndexFactory, es_url: str
) -> None:
    index = es_indices()
    put(index, make_doc(make_asset("old", prompt="granite")))
    (before,) = index.physical_indices()
    seen: dict[str, Any] = {}

    def docs() -> Iterator[IndexDoc]:
        yield make_doc(make_asset("a", prompt="marble"), unit(1))
        client = es_client(es_url)
        try:
            names = set(client.indices.get(index=f"{index.alias}-*").body) - {before}
        finally:
            client.close()
        (new,) = names
        seen["name"] = new
        seen["during"] = _settings(es_url, new)
        yield make_doc(make_asset("b", prompt="marble"), unit(0, 1))

    assert index.rebuild(docs()) == 2
    during = seen["during"]
    assert during["index.refresh_interval"] == "-1"
    assert during["index.translog.flush_threshold_age"] == "5m"
    assert during["index.number_of_replicas"] == "0"
    assert during["index.auto_expand_replicas"] == "false"
    assert during["index.translog.durability"] == "async"
    assert during["index.mapping.exclude_source_vectors"] == "true"
    assert index.physical_indices() == [seen["name"]]
    after = _settings(es_url, seen["name"])
    assert "index.refresh_interval" not in after  # the default (1 s) again
    assert "index.translog.durability" not in after  # fsync per request again
    assert "index.translog.flush_threshold_age" not in after
    assert after["index.auto_expand_replicas"] == "0-1"
    # Searchable without an explicit refresh: the rebuild refreshed before the swap.
    assert sorted(ids_of(index.search(SearchQuery(workspace=WS, text="marble")))) == sorted(
        [aid("a"), aid("b")]
    )


def test_rebuild_with_many_batches_in_flight_indexes_every_doc(es_indices: IndexFactory) -> None:
    index = es_indices(batch_size=7, bulk_workers=3)
    vectors = _random_units(60, seed=11)
    docs = [make_doc(make_asset(f"d{i}", prompt=f"word{i % 5}"), v) for i, v in enumerate(vectors)]
    assert index.rebuild(iter(docs)) == 60
    assert len(list(index.revisions())) == 60
    for i in (0, 17, 59):
        hits = index.knn(VectorQuery(workspace=WS, vector=vectors[i], model=MODEL, k=1))
        assert [h.asset.id for h in hits] == [aid(f"d{i}")]
    got = index.get(WS, aid("d33"))
    assert got is not None and got.vector == pytest.approx(vectors[33], abs=1e-6)


def test_a_rejected_batch_stops_the_rebuild_and_leaves_the_index(
    es_indices: IndexFactory, es_url: str
) -> None:
    index = es_indices(batch_size=4, bulk_workers=2)
    put(index, make_doc(make_asset("old", prompt="granite")))
    before = index.physical_indices()
    good = [make_doc(make_asset(f"g{i}"), unit(1, i)) for i in range(12)]
    bad = make_doc(make_asset("bad"), [1.0, 1.0, *([0.0] * (DIM - 2))])  # not unit length
    with pytest.raises(IndexRejected, match="unit-length"):
        index.rebuild(iter([*good[:6], bad, *good[6:]]))
    assert index.physical_indices() == before
    assert ids_of(index.search(SearchQuery(workspace=WS, text="granite"))) == [aid("old")]
    client = es_client(es_url)
    try:
        assert list(client.indices.get(index=f"{index.alias}-*").body) == before
    finally:
        client.close()
