"""indexer.elasticsearch.complement: the bodies and readings of the complement counting path.
No server: bodies are inspected, responses are literals."""

from __future__ import annotations

from typing import Any

from assetlens.domain import AssetType
from assetlens.facetcounts import MAX_COMPLEMENT_VALUES, Counts
from assetlens.filters import Facet, FacetMode, Filters
from assetlens.query import SearchQuery
from indexer.elasticsearch.complement import (
    TOTAL_AGG,
    counts_body,
    estimate_doc,
    page_body,
    read_counts,
    read_estimate,
)
from indexer.elasticsearch.translate import VALUES_AGG, filter_clauses, text_clauses


def _query(**kwargs: Any) -> SearchQuery:
    return SearchQuery(workspace="ws", text="highly", **kwargs)


def test_estimate_doc_holds_the_words_in_every_text_field_and_the_stems() -> None:
    doc = estimate_doc("Highly Détailed")
    assert doc is not None
    assert doc["prompt"] == doc["name"] == "Highly Detailed"
    assert set(doc["stems"].split()) >= {"high", "detail"}
    assert "stems" not in (estimate_doc("一只猫") or {})  # a run of ideographs has no stems
    assert estimate_doc("  ((( ") is None


def test_read_estimate_takes_the_best_fields_rarest_word() -> None:
    doc = {"prompt": "highly cafe", "name": "highly cafe"}
    response = {"term_vectors": {
        "prompt": {"field_statistics": {"doc_count": 900},
                   "terms": {"highly": {"doc_freq": 800}, "cafe": {"doc_freq": 700}}},
        "name": {"field_statistics": {"doc_count": 1000},
                 "terms": {"highly": {"term_freq": 1}, "cafe": {"doc_freq": 20}}},
    }}  # fmt: skip
    assert read_estimate(response, doc) == (700, 1000)
    assert read_estimate({}, doc) == (0, 0)


def test_page_body_has_no_total_and_no_aggregations() -> None:
    body = page_body(_query(facets=[Facet.TYPE], facet_mode=FacetMode.DISJUNCTIVE,
                            filters=Filters(type=[AssetType.IMAGE])))  # fmt: skip
    assert body["track_total_hits"] is False
    assert "aggs" not in body and "post_filter" not in body
    assert filter_clauses("ws", Filters(type=[AssetType.IMAGE])) == body["query"]["bool"]["filter"]


def test_counts_body_conjunctive() -> None:
    query = _query(facets=[Facet.TAGS, Facet.CREATED], filters=Filters(tags=["cat"]))
    scope = counts_body(query, without_text=False)
    without = counts_body(query, without_text=True)
    assert scope["size"] == 0 and scope["track_total_hits"] is True
    assert "must_not" not in scope["query"]["bool"]
    assert without["query"]["bool"]["must_not"] == [{"bool": {"must": text_clauses("highly")}}]
    assert scope["aggs"] == without["aggs"]
    assert scope["aggs"]["tags"]["terms"]["size"] == MAX_COMPLEMENT_VALUES
    assert TOTAL_AGG not in scope["aggs"]


def test_counts_body_disjunctive_gives_each_facet_its_filters_and_counts_the_total() -> None:
    filters = Filters(type=[AssetType.IMAGE], tags=["cat"])
    query = _query(facets=[Facet.TYPE, Facet.TAGS], filters=filters,
                   facet_mode=FacetMode.DISJUNCTIVE)  # fmt: skip
    body = counts_body(query, without_text=True)
    assert body["query"]["bool"]["filter"] == filter_clauses("ws", Filters())
    type_scope = body["aggs"]["type"]["filter"]["bool"]["filter"]
    assert type_scope == filter_clauses("ws", Filters(tags=["cat"]))
    assert body["aggs"][TOTAL_AGG]["filter"]["bool"]["filter"] == filter_clauses("ws", filters)


def test_read_counts() -> None:
    query = _query(facets=[Facet.TAGS, Facet.COST, Facet.FAVORITE, Facet.CREATED])
    response = {
        "hits": {"total": {"value": 50, "relation": "eq"}},
        "aggregations": {
            "tags": {"sum_other_doc_count": 0, "buckets": [{"key": "cat", "doc_count": 3}]},
            "cost": {"buckets": {"0": {"doc_count": 2}, ">=10": {"doc_count": 1}}},
            "favorite": {"buckets": [{"key": 0, "key_as_string": "false", "doc_count": 40}]},
            "created": {"buckets": [{"key_as_string": "2024-01", "key": 1, "doc_count": 50}]},
        },
    }
    counts = read_counts(query, response)
    assert counts is not None
    assert counts.total == 50
    assert counts.facets[Facet.TAGS] == {"cat": 3}
    assert counts.facets[Facet.COST]["0"] == 2 and counts.facets[Facet.COST]["<0.01"] == 0
    assert counts.facets[Facet.FAVORITE] == {"false": 40}
    assert counts.facets[Facet.CREATED] == {"2024-01": 50}


def test_read_counts_of_a_disjunctive_answer_and_of_too_many_values() -> None:
    query = _query(facets=[Facet.TAGS], facet_mode=FacetMode.DISJUNCTIVE)
    values: dict[str, Any] = {"sum_other_doc_count": 0, "buckets": []}
    response = {"hits": {"total": {"value": 99}}, "aggregations": {
        "tags": {"doc_count": 9, VALUES_AGG: values}, TOTAL_AGG: {"doc_count": 7},
    }}  # fmt: skip
    assert read_counts(query, response) == Counts(total=7, facets={Facet.TAGS: {}})
    values["sum_other_doc_count"] = 4
    assert read_counts(query, response) is None
