"""Keyword search quality on the labelled query set (benchmarks/search_quality.py), on BOTH
backends: each query matches the same assets on each, and no score falls below the checked-in
baseline (docs/results/search_quality.json). A change that makes search better rewrites the
baseline with `python -m benchmarks.search_quality --es-url URL --write` (docs/SEARCH.md)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from assetlens.ports import SearchIndex
from benchmarks.search_corpus import LabelledDoc, corpus
from benchmarks.search_quality import (
    BASELINE,
    METRICS,
    QueryResult,
    evaluate,
    fill,
    load_queries,
    summarise,
)
from indexer.elasticsearch import ElasticsearchIndex
from indexer.embedded import EmbeddedSearchIndex
from tests.integration.es_fixtures import es_client, es_service, es_url

pytestmark = pytest.mark.integration
__all__ = ["es_service", "es_url"]  # fixtures used by this module


@pytest.fixture(scope="module")
def docs() -> list[LabelledDoc]:
    return corpus()


@pytest.fixture(scope="module")
def results(
    docs: list[LabelledDoc], es_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, list[QueryResult]]]:
    """Every labelled query's matches on an embedded and an Elasticsearch index holding the
    corpus (filled through the SearchIndex port, not uploads: seconds, not minutes)."""
    queries = load_queries()
    embedded = EmbeddedSearchIndex(tmp_path_factory.mktemp("quality") / "index")
    es = ElasticsearchIndex(es_client(es_url), f"it-quality-{uuid.uuid4().hex[:12]}")
    indexes: dict[str, SearchIndex] = {"embedded": embedded, "elasticsearch": es}
    try:
        for index in indexes.values():
            index.ensure()
            fill(index, docs)
        yield {name: evaluate(index, queries) for name, index in indexes.items()}
    finally:
        embedded.close()
        es.drop()
        es.close()


def test_each_query_matches_the_same_assets_on_both_backends(
    results: dict[str, list[QueryResult]],
) -> None:
    embedded, es = results["embedded"], results["elasticsearch"]
    assert len(embedded) == len(es) >= 50
    for want, got in zip(embedded, es, strict=True):
        assert sorted(got.ranked) == sorted(want.ranked), want.query.query
        assert len(got.ranked) == len(set(got.ranked)), want.query.query  # no repeats


@pytest.mark.parametrize("backend", ["embedded", "elasticsearch"])
def test_quality_is_not_below_the_baseline(
    results: dict[str, list[QueryResult]], backend: str
) -> None:
    minimum = json.loads(Path(BASELINE).read_text(encoding="utf-8"))["minimum"][backend]
    scores = summarise(results[backend])["all"]
    for metric in METRICS:
        assert float(scores[metric]) >= minimum[metric], (metric, scores, minimum)


def test_the_word_forms_names_and_prefixes_are_what_finds_them(
    results: dict[str, list[QueryResult]],
) -> None:
    """The figures mean something: each kind of query exercised finds its assets (a
    regression in one kind cannot hide behind the overall mean)."""
    by_kind = summarise(results["embedded"])
    for kind in ("plural", "word form", "prefix", "name", "prompt syntax", "cjk", "multi-word"):
        assert float(by_kind[kind]["recall"]) >= 0.95, kind
        assert float(by_kind[kind]["recall_at_10"]) >= 0.95, kind
    assert by_kind["negative"]["negatives_clean"] == 1.0
