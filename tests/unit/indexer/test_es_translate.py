"""The Elasticsearch adapter's pure parts: documents, query bodies, response parsing and
error translation. No server: request bodies are inspected, responses are literals."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError, ConnectionError, ConnectionTimeout
from hypothesis import given, settings
from hypothesis import strategies as st

from assetlens.cursors import encode_cursor
from assetlens.domain import Asset, AssetStatus, AssetType, Generation, LoRA
from assetlens.errors import IndexUnavailable, InvalidInput
from assetlens.filters import Facet, FacetMode, Filters
from assetlens.query import FacetBucket, IndexDoc, SearchQuery, Sort, SortField, VectorQuery
from assetlens.searchtext import PREFIX_WEIGHT
from assetlens.textsplit import fold_diacritics
from indexer.elasticsearch.failures import (
    IndexRejected,
    PartialResults,
    RetryPolicy,
    call,
    check_shards,
    retriable,
)
from indexer.elasticsearch.mapping import (
    TEXT_FIELDS,
    analysable,
    doc_id,
    document,
    mappings,
    vector_field,
    vector_of,
)
from indexer.elasticsearch.responses import dot_product, knn_hits, search_page
from indexer.elasticsearch.translate import (
    MAX_NUM_CANDIDATES,
    MISSING_MONTH,
    MonthsMissing,
    filter_clauses,
    knn_body,
    num_candidates,
    search_body,
    text_clauses,
    wildcard_literal,
)

T0 = datetime(2024, 3, 5, 12, 30, 15, 123456, tzinfo=UTC)
WS = "ws-1"


def _asset(**kwargs: Any) -> Asset:
    values: dict[str, Any] = {
        "id": "a" * 32, "workspace": WS, "name": "Sunset_Beach-01.PNG", "type": AssetType.IMAGE,
        "mime": "image/png", "extension": "png", "size_bytes": 1234, "sha256": "0" * 64,
        "created_at": T0, "updated_at": T0, "status": AssetStatus.READY,
    }  # fmt: skip
    values.update(kwargs)
    return Asset(**values)


# -- documents --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sunset_beach_01.png", "sunset beach 01 png"),
        ("don't panic!", "don t panic"),
        ("Café crème — São Paulo", "Cafe creme Sao Paulo"),
        ("一只猫咪", "一 只 猫 咪"),
        ("東京タワーの夜景", "東 京 タワー の 夜 景"),
        ("서울 야경", "서울 야경"),
        ("йогурт Ελληνικά がっこう", "йогурт Ελληνικά が っ こ う"),
        ("v2.0 (final) [draft] owner:*", "v2 0 final draft owner"),
        ("", ""),
    ],
)
def test_analysable_text_has_the_words_query_terms_would_find(text: str, expected: str) -> None:
    assert analysable(text) == expected


def test_diacritics_are_folded_on_latin_letters_only() -> None:
    assert fold_diacritics("naïve Ångström ṩ") == "naive Angstrom s"
    assert fold_diacritics("й ά が ø ł") == "й ά が ø ł"
    # Decomposed input folds like composed input.
    assert fold_diacritics("cafe\u0301") == "cafe"


def test_document_fits_the_strict_mapping() -> None:
    asset = _asset(
        tags=["Cute Cat", "cute cat", "Sea"],
        folder_id="f1",
        description="Crème",
        generation=Generation(prompt="a cat", negative_prompt="blurry", texts=["node text"],
                              model="sdxl", provider="local", generator="comfyui",
                              sampler="euler", seed=42, cfg_scale=7.5, ai_generated=True,
                              loras=[LoRA(name="b"), LoRA(name="a"), LoRA(name="b")]),
    )  # fmt: skip
    source = document(IndexDoc(asset=asset, vector=[1.0, 0.0, 0.0], vector_model="clip"))
    properties = mappings()["properties"]
    assert mappings()["dynamic"] == "strict"
    assert set(source) - set(properties) == {vector_field(3)}
    assert source["tags"] == ["cute cat", "sea"]
    assert source["loras"] == ["a", "b"]
    assert source["name_sort"] == "sunset_beach-01.png"
    assert source["name"] == "Sunset Beach 01 PNG"
    assert source["other"] == "blurry node text"
    assert source["description"] == "Creme"
    assert source["created_us"] == int(T0.timestamp()) * 1_000_000 + 123456
    assert source["created_month"] == "2024-03"
    assert source["params"] == {"seed": "42", "cfg_scale": "7.5"}
    assert source["vector_model"] == "clip"
    assert Asset.model_validate(source["asset"]) == asset
    assert vector_of(source) == [1.0, 0.0, 0.0]
    for name in TEXT_FIELDS:
        assert properties[name]["type"] == "text"
    assert properties["asset"] == {"type": "object", "enabled": False}


def test_document_without_a_model_has_no_vector() -> None:
    source = document(IndexDoc(asset=_asset(), vector=[1.0], vector_model=None))
    assert "vector_model" not in source
    assert vector_of(source) is None
    assert doc_id("w:x", "abc") == "w:x:abc"


# -- search bodies ----------------------------------------------------------------------


def test_workspace_and_status_filters_are_always_there() -> None:
    clauses = filter_clauses(WS, Filters())
    assert clauses == [
        {"term": {"workspace": WS}},
        {"terms": {"status": ["processing", "ready", "failed"]}},
    ]


def test_every_filter_becomes_a_clause() -> None:
    filters = Filters(
        type=[AssetType.VIDEO], tags=["CAT"], folder_id="f1", model=["m"], provider=["p"],
        source=["upload"], generator=["g"], sampler=["s"], loras=["l"],
        status=[AssetStatus.DELETED], ai_generated=False, ids=["x"], created_from=T0,
        created_to=T0, size_min=1, size_max=2,
    )  # fmt: skip
    clauses = filter_clauses(WS, filters)
    assert {"terms": {"status": ["deleted"]}} in clauses
    assert {"terms": {"type": ["video"]}} in clauses
    assert {"terms": {"tags": ["cat"]}} in clauses
    assert {"terms": {"folder_id": ["f1"]}} in clauses
    assert {"terms": {"id": ["x"]}} in clauses
    assert {"term": {"ai_generated": False}} in clauses
    micros = int(T0.timestamp()) * 1_000_000 + 123456
    assert {"range": {"created_us": {"gte": micros, "lte": micros}}} in clauses
    assert {"range": {"size_bytes": {"gte": 1, "lte": 2}}} in clauses
    assert len(clauses) == 15


def _phrase(clause: dict[str, Any]) -> dict[str, Any]:
    """The exact-words multi_match of a term's clause (alone, or the first of its ways)."""
    if "bool" in clause:
        clause = clause["bool"]["should"][0]
    match: dict[str, Any] = clause["multi_match"]
    return match


def test_text_is_one_required_clause_per_term() -> None:
    clauses = text_clauses("Red  FOX 一只猫 red café")
    queries = [_phrase(c)["query"] for c in clauses]
    assert queries == ["Red", "FOX", "一 只 猫", "red", "cafe"]
    first = _phrase(clauses[0])
    assert first["type"] == "phrase"
    assert first["fields"] == [
        "name^4",
        "prompt^4",
        "tags_text^2",
        "description^1.5",
        "other^1",
        "names^2",
    ]
    assert text_clauses("*** ((( \\") == []


def test_a_term_matches_by_stem_and_the_typed_last_word_by_prefix() -> None:
    foxes, lat = text_clauses("Foxes lat")
    assert foxes["bool"]["minimum_should_match"] == 1
    assert {"match": {"stems": {"query": "fox", "boost": 0.5}}} in foxes["bool"]["should"]
    assert not any("wildcard" in way for way in foxes["bool"]["should"])
    # Only the longer words: `lat` itself is scored once, by the phrase.
    prefixes = [way["wildcard"] for way in lat["bool"]["should"] if "wildcard" in way]
    assert {"prompt": {"value": "lat?*", "boost": 4.0 * PREFIX_WEIGHT}} in prefixes
    assert {"names": {"value": "lat?*", "boost": 2.0 * PREFIX_WEIGHT}} in prefixes
    assert len(prefixes) == 6 and all("stems" not in p for p in prefixes)
    # A space after the last word: it is complete, no prefix; an ideograph run has no stem.
    (done,) = text_clauses("lat ")
    assert not any("wildcard" in way for way in done["bool"]["should"])
    (cjk,) = text_clauses("一只猫")
    assert cjk == {"multi_match": _phrase(cjk)}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_user_text_never_becomes_query_syntax(text: str) -> None:
    body = search_body(SearchQuery(workspace=WS, text=text))
    forbidden = {"query_string", "simple_query_string", "regexp", "fuzzy", "script"}
    assert not forbidden & set(_keys(body))  # query types are keys; user text only values
    assert body["query"]["bool"]["filter"][0] == {"term": {"workspace": WS}}
    for clause in body["query"]["bool"].get("must", []):
        ways = clause["bool"]["should"] if "bool" in clause else [clause]
        phrase = ways[0]["multi_match"]["query"]
        assert phrase and phrase == " ".join(phrase.split())
        assert not re.search(r"[*?:()\[\]{}\"\\~^/<>=!&|+-]", phrase)
        # The one wildcard pattern: the typed word, literal, then at least one character.
        patterns = {way["wildcard"][field]["value"] for way in ways if "wildcard" in way
                    for field in way["wildcard"]}  # fmt: skip
        assert patterns <= {wildcard_literal(phrase.lower()) + "?*"}
        for way in ways[1:]:
            (value,) = [
                v["query"] if "match" in way else v["value"].removesuffix("?*")
                for v in (way.get("match") or way["wildcard"]).values()
            ]
            assert value and " " not in value and not re.search(r"[*?\\]", value)


def _keys(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _keys(value)
    elif isinstance(node, list):
        for value in node:
            yield from _keys(value)


def test_text_without_words_is_newest_first_without_scores() -> None:
    body = search_body(SearchQuery(workspace=WS, text="(((", sort=Sort()))
    assert "must" not in body["query"]["bool"]
    assert body["sort"] == [{"created_us": {"order": "desc"}}, {"id": {"order": "asc"}}]
    assert "track_scores" not in body


@pytest.mark.parametrize(
    ("sort", "key", "order"),
    [
        (Sort(field=SortField.RELEVANCE), "_score", "desc"),
        (Sort(field=SortField.RELEVANCE, descending=False), "_score", "asc"),
        (Sort(field=SortField.NAME, descending=False), "name_sort", "asc"),
        (Sort(field=SortField.SIZE), "size_bytes", "desc"),
        (Sort(field=SortField.UPDATED_AT, descending=False), "updated_us", "asc"),
    ],
)
def test_sort_breaks_ties_on_id(sort: Sort, key: str, order: str) -> None:
    body = search_body(SearchQuery(workspace=WS, text="cat", sort=sort, limit=7))
    assert body["sort"] == [{key: {"order": order}}, {"id": {"order": "asc"}}]
    assert body["size"] == 8
    assert body["track_total_hits"] is True
    assert body.get("track_scores", False) is (key != "_score")


def test_cursor_becomes_search_after_and_is_validated() -> None:
    query = SearchQuery(workspace=WS, sort=Sort(field=SortField.NAME), cursor=encode_cursor(
        ["apple.png", "b" * 32]))  # fmt: skip
    assert search_body(query)["search_after"] == ["apple.png", "b" * 32]
    rank = SearchQuery(workspace=WS, text="x", cursor=encode_cursor([1.5, "id"]))
    assert search_body(rank)["search_after"] == [1.5, "id"]
    bad = [
        SearchQuery(workspace=WS, cursor="not-a-cursor!"),
        SearchQuery(workspace=WS, cursor=encode_cursor([1, 2])),
        SearchQuery(workspace=WS, cursor=encode_cursor(["x"])),
        SearchQuery(workspace=WS, cursor=encode_cursor(["late", "id"])),  # created_at: int
        SearchQuery(workspace=WS, cursor=encode_cursor([True, "id"])),
        SearchQuery(workspace=WS, sort=Sort(field=SortField.NAME), cursor=encode_cursor([3, "i"])),
    ]
    for query in bad:
        with pytest.raises(InvalidInput):
            search_body(query)


def test_facets_are_aggregations_of_the_query() -> None:
    body = search_body(SearchQuery(workspace=WS, facets=[Facet.TAGS, Facet.CREATED, Facet.SIZE,
                                                         Facet.TAGS], facet_size=3))  # fmt: skip
    aggs = body["aggs"]
    assert list(aggs) == ["tags", "created", "size"]
    assert aggs["tags"]["terms"] == {
        "field": "tags", "size": 3, "order": [{"_count": "desc"}, {"_key": "asc"}],
    }  # fmt: skip
    # The months are a keyword's terms, latest first, one more for MISSING_MONTH (which
    # sorts first); documents without the keyword are counted by the legacy histogram.
    assert aggs["created"]["terms"] == {
        "field": "created_month",
        "size": 4,
        "missing": MISSING_MONTH,
        "order": {"_key": "desc"},
    }
    assert MISSING_MONTH > "9999-12"
    legacy = search_body(SearchQuery(workspace=WS, facets=[Facet.CREATED]), legacy_months=True)
    histogram = legacy["aggs"]["created"]["date_histogram"]
    assert (histogram["calendar_interval"], histogram["format"]) == ("month", "yyyy-MM")
    ranges = aggs["size"]["range"]["ranges"]
    assert ranges[0] == {"key": "<100KB", "to": 100 * 1024}
    assert ranges[-1] == {"key": ">=100MB", "from": 100 * 1024 * 1024}
    assert "aggs" not in search_body(SearchQuery(workspace=WS))


def test_new_filters_become_clauses() -> None:
    clauses = filter_clauses(WS, Filters(favorite=False, created_month=["2024-12"],
                                         size_range=["<100KB", ">=100MB"]))  # fmt: skip
    # A document indexed before `favorite` was mapped has none: it is no favourite.
    assert {"bool": {"must_not": [{"term": {"favorite": True}}]}} in clauses
    dec, jan = (int(datetime(y, m, 1, tzinfo=UTC).timestamp()) * 1_000_000
                for y, m in ((2024, 12), (2025, 1)))  # fmt: skip
    assert {"bool": {"should": [{"range": {"created_us": {"gte": dec, "lt": jan}}}],
                     "minimum_should_match": 1}} in clauses  # fmt: skip
    assert {"bool": {"should": [{"range": {"size_bytes": {"lt": 100 * 1024}}},
                                {"range": {"size_bytes": {"gte": 100 * 1024 * 1024}}}],
                     "minimum_should_match": 1}} in clauses  # fmt: skip
    assert {"term": {"favorite": True}} in filter_clauses(WS, Filters(favorite=True))


def test_disjunctive_facets_filter_their_own_aggregation() -> None:
    filters = Filters(type=[AssetType.IMAGE], model=["sdxl"], tags=["cat"])
    body = search_body(SearchQuery(workspace=WS, filters=filters, facet_mode=FacetMode.DISJUNCTIVE,
                                   facets=[Facet.TYPE, Facet.MODEL]))  # fmt: skip
    # The query keeps what no facet drops; every filter applies to hits via post_filter.
    assert body["query"]["bool"]["filter"] == filter_clauses(WS, Filters(tags=["cat"]))
    assert body["post_filter"] == {"bool": {"filter": filter_clauses(WS, filters)}}
    type_agg = body["aggs"]["type"]
    assert type_agg["filter"] == {"bool": {"filter": filter_clauses(
        WS, Filters(model=["sdxl"], tags=["cat"]))}}  # fmt: skip
    assert type_agg["aggs"]["values"]["terms"]["field"] == "type"
    conjunctive = search_body(SearchQuery(workspace=WS, filters=filters, facets=[Facet.TYPE]))
    assert "post_filter" not in conjunctive
    assert "terms" in conjunctive["aggs"]["type"]
    response = {"hits": {"total": {"value": 0}, "hits": []}, "aggregations": {
        "type": {"doc_count": 3, "values": {"buckets": [{"key": "image", "doc_count": 3}]}},
        "model": {"doc_count": 0, "values": {"buckets": []}}}}  # fmt: skip
    page = search_page(SearchQuery(workspace=WS, facets=[Facet.TYPE, Facet.MODEL],
                                   facet_mode=FacetMode.DISJUNCTIVE), response)  # fmt: skip
    assert page.facets == {"type": [FacetBucket(value="image", count=3)], "model": []}


# -- responses --------------------------------------------------------------------------


def _hit(asset: Asset, score: float | None, sort: list[Any]) -> dict[str, Any]:
    return {"_source": {"asset": asset.model_dump(mode="json")}, "_score": score, "sort": sort}


def test_search_page_from_a_response() -> None:
    a, b, c = (_asset(id=ch * 32) for ch in "abc")
    query = SearchQuery(workspace=WS, text="cat", limit=2,
                        facets=[Facet.AI_GENERATED, Facet.SIZE, Facet.CREATED, Facet.TYPE],
                        facet_size=2)  # fmt: skip
    response = {
        "hits": {
            "total": {"value": 3, "relation": "eq"},
            "hits": [_hit(x, score, [score, x.id]) for x, score in ((a, 2.5), (b, 1.5), (c, 1.0))],
        },
        "aggregations": {
            "ai_generated": {"buckets": [{"key": 1, "key_as_string": "true", "doc_count": 2},
                                         {"key": 0, "key_as_string": "false", "doc_count": 1}]},
            "size": {"buckets": [{"key": "<100KB", "doc_count": 0},
                                 {"key": "100KB-1MB", "doc_count": 2},
                                 {"key": "1MB-10MB", "doc_count": 1},
                                 {"key": "10MB-100MB", "doc_count": 4}]},
            "created": {"buckets": [{"key_as_string": "2024-03", "doc_count": 1},
                                    {"key_as_string": "2024-02", "doc_count": 2},
                                    {"key_as_string": "2024-01", "doc_count": 2}]},
            "type": {"buckets": [{"key": "image", "doc_count": 3}]},
        },
    }  # fmt: skip
    page = search_page(query, response)
    assert page.total == 3
    assert [h.asset.id for h in page.hits] == [a.id, b.id]
    assert [h.score for h in page.hits] == [2.5, 1.5]
    assert page.next_cursor == encode_cursor([1.5, b.id])
    assert page.facets == {
        "ai_generated": [FacetBucket(value="true", count=2), FacetBucket(value="false", count=1)],
        "size": [FacetBucket(value="100KB-1MB", count=2), FacetBucket(value="1MB-10MB", count=1)],
        "created": [FacetBucket(value="2024-03", count=1), FacetBucket(value="2024-02", count=2)],
        "type": [FacetBucket(value="image", count=3)],
    }


def test_months_read_from_terms_and_a_missing_month_asks_for_the_histogram() -> None:
    query = SearchQuery(workspace=WS, facets=[Facet.CREATED], facet_size=2)
    terms = [{"key": "2024-03", "doc_count": 4}, {"key": "2024-01", "doc_count": 1},
             {"key": "2023-12", "doc_count": 9}]  # fmt: skip
    response = {"hits": {"total": {"value": 14}, "hits": []},
                "aggregations": {"created": {"buckets": terms}}}  # fmt: skip
    assert search_page(query, response).facets["created"] == [
        FacetBucket(value="2024-03", count=4),
        FacetBucket(value="2024-01", count=1),
    ]
    older = [{"key": MISSING_MONTH, "doc_count": 2}, *terms]
    with pytest.raises(MonthsMissing):
        search_page(query, {**response, "aggregations": {"created": {"buckets": older}}})


def test_last_page_has_no_cursor_and_no_scores_without_text() -> None:
    a = _asset()
    query = SearchQuery(workspace=WS, limit=2)
    response = {"hits": {"total": {"value": 1}, "hits": [_hit(a, None, [5, a.id])]}}
    page = search_page(query, response)
    assert page.next_cursor is None
    assert page.hits[0].score is None


# -- kNN --------------------------------------------------------------------------------


def test_knn_body_filters_inside_the_knn() -> None:
    query = VectorQuery(
        workspace=WS, vector=[0.6, 0.8], model="clip", k=5,
        filters=Filters(type=[AssetType.IMAGE]), exclude_ids=["x", "y"],
    )  # fmt: skip
    body = knn_body(query, candidates=200)
    knn = body["knn"]
    assert knn["field"] == "vector_2"
    assert (knn["k"], knn["num_candidates"], body["size"]) == (5, 200, 5)
    bool_filter = knn["filter"]["bool"]
    assert bool_filter["filter"][0] == {"term": {"workspace": WS}}
    assert {"term": {"vector_model": "clip"}} in bool_filter["filter"]
    assert {"terms": {"type": ["image"]}} in bool_filter["filter"]
    assert bool_filter["must_not"] == [{"terms": {"id": ["x", "y"]}}]
    assert knn["rescore_vector"] == {"oversample": 2.0}
    assert "query" not in body
    assert "rescore_vector" not in knn_body(query, candidates=200, oversample=None)["knn"]


def test_num_candidates_grows_with_k_within_the_limit() -> None:
    assert num_candidates(10, 200) == 200
    assert num_candidates(100, 200) == 400
    assert num_candidates(1000, 200) == 4000
    assert num_candidates(5000, 200) == MAX_NUM_CANDIDATES
    assert num_candidates(5, 1) == 20


def test_knn_scores_are_dot_products() -> None:
    assert dot_product(1.0) == 1.0
    assert dot_product(0.5) == 0.0
    assert dot_product(0.0) == -1.0
    a = _asset()
    hits = knn_hits({"hits": {"hits": [{"_source": {"asset": a.model_dump(mode="json")},
                                         "_score": 0.9}]}})  # fmt: skip
    assert hits[0].asset == a
    assert hits[0].score == pytest.approx(0.8)


# -- failures ---------------------------------------------------------------------------


def _api_error(status: int, kind: str = "some_exception", reason: str = "why") -> ApiError:
    meta = ApiResponseMeta(status=status, http_version="1.1", headers=HttpHeaders(),
                           duration=0.0, node=NodeConfig("http", "localhost", 9200))  # fmt: skip
    return ApiError(kind, meta, {"error": {"type": kind, "reason": reason}, "status": status})


class Flaky:
    """Raises the given errors in turn, then returns 'ok'."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


POLICY = RetryPolicy(attempts=3, initial_backoff_s=0.01)


def test_transient_failures_are_retried_with_backoff() -> None:
    sleeps: list[float] = []
    fn = Flaky(ConnectionError("refused"), _api_error(429), _api_error(503))
    with pytest.raises(IndexUnavailable, match="HTTP 503"):
        call("search", fn, POLICY, sleep=sleeps.append)
    assert fn.calls == 3
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] * 1.1
    recovering = Flaky(ConnectionTimeout("slow"), PartialResults("1 of 1 shards failed"))
    assert call("search", recovering, POLICY, sleep=sleeps.append) == "ok"


def test_permanent_failures_are_not_retried() -> None:
    fn = Flaky(_api_error(400, "parsing_exception", "bad query"))
    with pytest.raises(IndexRejected, match="parsing_exception: bad query"):
        call("search", fn, POLICY, sleep=lambda _: None)
    assert fn.calls == 1
    denied = Flaky(_api_error(401, "security_exception"))
    with pytest.raises(IndexUnavailable, match="credentials"):
        call("search", denied, POLICY, sleep=lambda _: None)
    assert denied.calls == 1


def test_passthrough_lets_the_caller_handle_a_status_but_not_a_missing_index() -> None:
    with pytest.raises(ApiError):
        call("get", Flaky(_api_error(404, "not_found")), POLICY, passthrough=(404,),
             sleep=lambda _: None)  # fmt: skip
    missing = Flaky(*[_api_error(404, "index_not_found_exception")] * 3)
    with pytest.raises(IndexUnavailable, match="does not exist"):
        call("get", missing, POLICY, passthrough=(404,), sleep=lambda _: None)
    assert missing.calls == 3


def test_classification_and_shard_checks() -> None:
    assert retriable(ConnectionError("x"))
    assert retriable(_api_error(502))
    assert not retriable(_api_error(409))
    assert not retriable(ValueError("x"))
    with pytest.raises(PartialResults):
        check_shards({"_shards": {"total": 1, "successful": 0, "failed": 1}})
    with pytest.raises(PartialResults):
        check_shards({"_shards": {"total": 1, "successful": 1, "failed": 0}, "timed_out": True})
    ok = {"_shards": {"total": 1, "successful": 1, "failed": 0}, "timed_out": False}
    assert check_shards(ok) is ok


def test_wildcard_literal_escapes_every_wildcard_character() -> None:
    assert wildcard_literal("lat") == "lat"
    assert wildcard_literal("a*b?c\\") == "a\\*b\\?c\\\\"
