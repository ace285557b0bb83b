"""The labelled query set (tests/search_quality/queries.json) agrees with the corpus it labels
(benchmarks.search_corpus), and the corpus is what the docs say it is."""

from __future__ import annotations

from collections import Counter

from benchmarks.search_corpus import SIZE, corpus
from benchmarks.search_quality import QueryResult, load_queries, relevant


def test_the_corpus_is_deterministic_and_large_enough() -> None:
    first, again = corpus(), corpus()
    assert len(first) == SIZE >= 500
    assert [d.doc for d in first] == [d.doc for d in again]
    assert len({d.doc.asset.id for d in first}) == SIZE
    assert all(d.doc.asset.generation.prompt for d in first)


def test_expected_assets_are_the_labels_over_the_corpus() -> None:
    """A stale file (the corpus changed, `--label` not run) fails here, not as odd scores."""
    docs = corpus()
    queries = load_queries()
    assert len(queries) >= 50
    for query in queries:
        assert sorted(query.expected) == relevant(query.where, docs), query.query
        assert query.negative or query.expected, query.query
    kinds = Counter(q.kind for q in queries)
    assert set(kinds) == {"plural", "word form", "prefix", "name", "prompt syntax", "cjk",
                          "multi-word", "negative"}  # fmt: skip
    assert min(kinds.values()) >= 4


def test_scores_of_one_query() -> None:
    (query,) = [q for q in load_queries() if q.query == "foxes"]
    relevant_ids = sorted(query.expected)
    perfect = QueryResult(query, relevant_ids)
    assert (perfect.recall, perfect.reciprocal_rank, perfect.recall_all, perfect.precision) == (
        1.0, 1.0, 1.0, 1.0)  # fmt: skip
    half = QueryResult(query, ["x1", "x2", *relevant_ids[:4], "x3", "x4", "x5", "x6",
                               *relevant_ids[4:]])  # fmt: skip
    assert half.recall == 0.4  # 4 of the first 10
    assert half.reciprocal_rank == 1 / 3
    assert half.recall_all == 1.0
    assert half.precision == len(relevant_ids) / (len(relevant_ids) + 6)
    assert QueryResult(query, []).precision == QueryResult(query, []).recall == 0.0
