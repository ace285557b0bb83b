"""indexer.elasticsearch.keyword: which requests a keyword query gets and how they are sent.
No server: a fake client records the requests and answers with literals."""

from __future__ import annotations

from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig

from assetlens.errors import IndexUnavailable
from assetlens.filters import Facet
from assetlens.query import SearchQuery
from indexer.elasticsearch.complement import (
    hits_counts_body,
    page_body,
    with_counts,
)
from indexer.elasticsearch.failures import IndexRejected, RetryPolicy
from indexer.elasticsearch.keyword import (
    Estimate,
    KeywordSearch,
    Memo,
    RequestPlan,
    choose_path,
    estimate_terms,
)
from indexer.elasticsearch.translate import MISSING_MONTH

_META = ApiResponseMeta(status=200, http_version="1.1", headers=HttpHeaders(), duration=0.0,
                        node=NodeConfig("http", "localhost", 9200))  # fmt: skip


class _Response:
    def __init__(self, body: Any) -> None:
        self.body = body
        self.meta = _META


def _hit(asset_id: str) -> dict[str, Any]:
    asset = {"id": asset_id, "workspace": "ws", "name": f"{asset_id}.png", "type": "image",
             "mime": "image/png", "extension": "png", "size_bytes": 1, "sha256": "0" * 64,
             "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
             "status": "ready"}  # fmt: skip
    return {"_source": {"asset": asset}, "_score": 1.0, "sort": [1.0, asset_id]}


_SHARDS = {"total": 1, "successful": 1, "failed": 0}


def _answer(total: int, hits: list[str], tags: dict[str, int]) -> dict[str, Any]:
    buckets = [{"key": key, "doc_count": count} for key, count in tags.items()]
    return {
        "_shards": _SHARDS,
        "hits": {"total": {"value": total, "relation": "eq"}, "hits": [_hit(h) for h in hits]},
        "aggregations": {"tags": {"sum_other_doc_count": 0, "buckets": buckets}},
    }


class FakeClient:
    """Answers termvectors with `estimate` of `documents`, msearch and search from `answers`
    (each search's answer picked by what its body asks for); records every request."""

    def __init__(self, estimate: int, documents: int = 100) -> None:
        self.estimate = estimate
        self.documents = documents
        self.calls: list[tuple[str, Any]] = []
        self.scope_tags = {"cat": 90, "dog": 10}
        self.errors: list[dict[str, Any]] = []

    def termvectors(self, **kwargs: Any) -> _Response:
        self.calls.append(("termvectors", kwargs["doc"]))
        words = kwargs["doc"]["stems"].split()
        stats = {"field_statistics": {"doc_count": self.documents},
                 "terms": {word: {"doc_freq": self.estimate} for word in words}}  # fmt: skip
        return _Response({"term_vectors": {"stems": stats}})

    def _one(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("size", 0) > 0:  # a page
            return _answer(0, ["a", "b"], {})
        scope = body["query"]["bool"]
        if "must_not" in scope:  # the complement
            return _answer(30, [], {"cat": 25, "dog": 5})
        if "must" in scope:  # the hits' own counts
            return _answer(70, [], {"cat": 65, "dog": 5})
        return _answer(100, [], self.scope_tags)

    def search(self, *, index: str, body: dict[str, Any], **kwargs: Any) -> _Response:
        self.calls.append(("search", body))
        return _Response(self._one(body))

    def msearch(self, *, index: str, searches: list[dict[str, Any]]) -> _Response:
        self.calls.append(("msearch", searches))
        if self.errors:
            return _Response({"responses": [self.errors.pop(0)]})
        return _Response({"responses": [self._one(body) for body in searches[1::2]]})


def _query() -> SearchQuery:
    return SearchQuery(workspace="ws", text="highly", facets=[Facet.TAGS], limit=1)


def _search(client: FakeClient, memo: Memo | None = None) -> KeywordSearch:
    policy = RetryPolicy(attempts=2, initial_backoff_s=0.0, max_backoff_s=0.0)
    return KeywordSearch(client, "idx", policy, memo)  # type: ignore[arg-type]


def _path(documents: int, text: str, **freqs: dict[str, int]) -> RequestPlan:
    return choose_path(Estimate(freqs, documents, estimate_terms(text)))


def test_choose_path_by_the_estimated_share() -> None:
    assert _path(100, "highly", stems={"high": 60}) is RequestPlan.COMPLEMENT
    assert _path(100, "highly", stems={"high": 50}) is RequestPlan.SPLIT  # more than half only
    assert _path(100, "highly", stems={"high": 3}) is RequestPlan.SPLIT
    assert _path(100, "highly", stems={"high": 2}, prompt={"highly": 1}) is RequestPlan.SINGLE
    assert _path(0, "highly", stems={"high": 0}) is RequestPlan.SINGLE


def test_several_terms_are_taken_as_independent_for_the_split() -> None:
    # The best field's rarest word chooses the complement, the terms together the split.
    assert _path(1000, "highly cafe", stems={"high": 900, "cafe": 800}) is RequestPlan.COMPLEMENT
    # 30 > 20:
    assert _path(1000, "low tower", stems={"low": 100, "tower": 300}) is RequestPlan.SPLIT
    assert _path(1000, "low tower", stems={"low": 100, "tower": 100},
                 prompt={"low": 100, "tower": 0}) is RequestPlan.SINGLE  # 10 < 20  # fmt: skip
    # The words of one term (a run of ideographs, a phrase) come together: its share is its
    # rarest word's. Words a hyphen parts are terms of their own, taken as independent.
    assert _path(1000, "東京", prompt={"東": 45, "京": 45}) is RequestPlan.SPLIT
    assert _path(1000, "ukiyo-e", prompt={"ukiyo": 45, "e": 45}) is RequestPlan.SINGLE
    # A term's stems are alternatives: its share in `stems` is its commonest stem's.
    snowy = {"snowi": 5, "snow": 40}
    assert _path(1000, "snowy", stems=snowy, prompt={"snowy": 5}) is RequestPlan.SPLIT


def test_memo_forgets_after_its_time_and_past_its_size() -> None:
    now = [0.0]
    memo = Memo(seconds=10.0, entries=2, clock=lambda: now[0])
    memo.put("a", 1)
    memo.put("b", 2)
    now[0] = 10.0
    assert memo.get("a") == 1
    memo.put("c", 3)  # the oldest goes
    assert memo.get("a") is None and memo.get("b") == 2 and memo.get("c") == 3
    now[0] = 19.5
    assert memo.get("b") is None and memo.get("c") == 3
    now[0] = 20.5
    assert memo.get("c") is None


def test_a_common_text_sends_page_scope_and_complement_in_one_msearch() -> None:
    client = FakeClient(estimate=60)
    page = _search(client).search(_query())
    (kind, searches) = client.calls[-1]
    assert kind == "msearch" and len(searches) == 6
    assert searches[0] == {} and searches[1] == page_body(_query())
    assert searches[2] == searches[4] == {"request_cache": True}
    assert page.total == 70
    assert [(b.value, b.count) for b in page.facets["tags"]] == [("cat", 65), ("dog", 5)]
    assert [hit.asset.id for hit in page.hits] == ["a"] and page.next_cursor is not None


def test_a_middling_text_sends_its_page_and_counts_together() -> None:
    client = FakeClient(estimate=10)
    page = _search(client).search(_query())
    assert [kind for kind, _ in client.calls] == ["termvectors", "msearch"]
    searches = client.calls[-1][1]
    assert searches == [{}, page_body(_query()), {}, hits_counts_body(_query())]
    assert page.total == 70 and [hit.asset.id for hit in page.hits] == ["a"]


def test_a_rare_text_is_one_request_and_the_estimate_is_remembered() -> None:
    client = FakeClient(estimate=1)
    search = _search(client)
    search.search(_query())
    search.search(_query())
    assert [kind for kind, _ in client.calls] == ["termvectors", "search", "search"]


def test_a_scope_with_too_many_values_is_counted_directly_and_remembered() -> None:
    client = FakeClient(estimate=60)
    search = _search(client)
    client.scope_tags = {}  # the answer leaves values out
    client._one = _overflowing(client._one)  # type: ignore[method-assign]
    page = search.search(_query())
    assert page.total == 70 and [hit.asset.id for hit in page.hits] == ["a"]  # counted directly
    assert [kind for kind, _ in client.calls] == ["termvectors", "msearch", "search"]
    assert "must" in client.calls[-1][1]["query"]["bool"]
    search.search(_query())
    assert [len(body) for kind, body in client.calls[3:]] == [4]  # no complement again


def _overflowing(answer: Any) -> Any:
    def one(body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = answer(body)
        if body.get("size", 0) == 0 and "must" not in body["query"]["bool"]:
            result["aggregations"]["tags"]["sum_other_doc_count"] = 1
        return result

    return one


def _with_months(answer: Any, legacy_documents: int) -> Any:
    """Answers the created facet as the node would: the keyword's terms, `legacy_documents`
    of them in the missing bucket, or the date histogram."""

    def one(body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = answer(body)
        created = body.get("aggs", {}).get("created")
        if created is None:
            return result
        if "terms" in created:
            missing = [{"key": MISSING_MONTH, "doc_count": legacy_documents}]
            buckets = [*(missing if legacy_documents else []), {"key": "2024-05", "doc_count": 2}]
        else:
            buckets = [{"key": 1714521600000, "key_as_string": "2024-05", "doc_count": 3}]
        result["aggregations"] = {"created": {"buckets": buckets}}
        return result

    return one


def test_documents_without_the_month_keyword_are_counted_by_the_histogram_for_a_while() -> None:
    client = FakeClient(estimate=1)  # a rare text: one request
    now = [0.0]
    search = _search(client, Memo(seconds=60.0, clock=lambda: now[0]))
    query = SearchQuery(workspace="ws", text="highly", facets=[Facet.CREATED], limit=1)
    client._one = _with_months(client._one, 1)  # type: ignore[method-assign]
    page = search.search(query)
    assert [(b.value, b.count) for b in page.facets["created"]] == [("2024-05", 3)]
    asked = [body["aggs"]["created"] for kind, body in client.calls if kind == "search"]
    assert [next(iter(agg)) for agg in asked] == ["terms", "date_histogram"]

    def asked_by(run: Any) -> list[str]:
        before = len(client.calls)
        run()
        return [next(iter(body["aggs"]["created"]))
                for kind, body in client.calls[before:] if kind == "search"]  # fmt: skip

    # Remembered: straight to the histogram, no request for the terms first.
    assert asked_by(lambda: search.search(query)) == ["date_histogram"]
    now[0] = 61.0  # then the keyword is tried again; once reindexed, it answers alone
    client._one = _with_months(client._one, 0)  # type: ignore[method-assign]
    assert asked_by(lambda: search.search(query)) == ["terms"]
    page = search.search(query)
    assert [(b.value, b.count) for b in page.facets["created"]] == [("2024-05", 2)]


def test_a_refresh_between_the_counts_falls_back_to_counting_the_hits() -> None:
    client = FakeClient(estimate=60)
    client.scope_tags = {"cat": 10}  # fewer than the complement: does not fit
    page = _search(client).search(_query())
    assert page.total == 70
    assert client.calls[-1][0] == "search" and "must" in client.calls[-1][1]["query"]["bool"]


def test_a_failed_search_inside_msearch_raises_as_its_own_request_would() -> None:
    client = FakeClient(estimate=10)
    busy = {"status": 429, "error": {"type": "es_rejected_execution_exception"}}
    client.errors = [busy, busy]
    with pytest.raises(IndexUnavailable):
        _search(client).search(_query())
    client.errors = [{"status": 400, "error": {"type": "parsing_exception"}}]
    with pytest.raises(IndexRejected):
        _search(client).search(_query())
    client.errors = [busy]  # retried once, then answered
    assert _search(client).search(_query()).total == 70


def test_with_counts_takes_the_hits_of_the_page_and_the_rest_of_the_counts() -> None:
    page, counts = _answer(0, ["a"], {}), _answer(7, [], {"cat": 7})
    merged = with_counts(page, counts)
    assert merged["hits"]["hits"] == page["hits"]["hits"]
    assert merged["hits"]["total"] == {"value": 7, "relation": "eq"}
    assert merged["aggregations"] == counts["aggregations"]


def test_hits_counts_body_is_the_same_for_every_page_and_fetches_nothing() -> None:
    first = _query()
    later = first.model_copy(update={"cursor": "WzEuMCwgImEiXQ"})
    body = hits_counts_body(later)
    assert body == hits_counts_body(first)
    assert body["size"] == 0 and body["_source"] is False and body["track_total_hits"] is True
    assert "sort" not in body and "search_after" not in body and "tags" in body["aggs"]
