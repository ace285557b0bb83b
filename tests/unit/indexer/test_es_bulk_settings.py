"""How documents carry vectors to Elasticsearch, and the settings a rebuild's bulk load
switches off and back on (no node needed)."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from assetlens.query import IndexDoc
from indexer.elasticsearch.mapping import (
    BULK_LOAD_SETTINGS,
    SERVING_SETTINGS,
    document,
    index_settings,
    vector_dims,
    vector_field,
    vector_of,
)
from tests.contract.search_index_contract import make_asset


def test_a_vector_is_sent_as_big_endian_float32_base64() -> None:
    vector = [0.6, -0.8, 0.0, 1e-7]
    source = document(IndexDoc(asset=make_asset("v"), vector=vector, vector_model="clip"))
    packed = source[vector_field(4)]
    assert isinstance(packed, str)
    raw = base64.b64decode(packed)
    assert len(raw) == 4 * 4
    assert np.frombuffer(raw, dtype=">f4").tolist() == pytest.approx(vector, rel=1e-6)
    assert vector_of(source) == pytest.approx(vector, rel=1e-6)


def test_vector_of_reads_the_list_elasticsearch_returns() -> None:
    assert vector_of({"vector_model": "clip", "vector_3": [1, 0, 0]}) == [1.0, 0.0, 0.0]
    assert vector_of({"vector_model": "clip"}) is None


def test_vector_dims_names_only_vector_fields() -> None:
    assert vector_dims("vector_512") == 512
    assert vector_dims("vector_model") is None
    assert vector_dims("vector_") is None
    assert vector_dims("names") is None


def test_bulk_load_settings_are_all_restored_for_serving() -> None:
    serving = index_settings()
    loading = index_settings(bulk_load=True)
    assert serving["mapping.exclude_source_vectors"] is True
    assert "refresh_interval" not in serving
    assert loading["refresh_interval"] == "-1"
    assert loading["number_of_replicas"] == 0
    assert loading["translog.durability"] == "async"
    # Every setting the bulk load changes is put back (None: the default again).
    assert set(SERVING_SETTINGS) == set(BULK_LOAD_SETTINGS) - {"number_of_replicas"}
    assert SERVING_SETTINGS["auto_expand_replicas"] == serving["auto_expand_replicas"]
