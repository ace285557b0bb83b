"""GET /v1/assets over HTTP: paging, filters as query parameters, sorts, facets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.conftest import png
from tests.conftest import Api

MODELS = ["sdxl", "flux", "sd15"]


@pytest.fixture(scope="module")
def library(api: Api) -> dict[str, str]:
    """Seven images in workspace alpha: models rotate sdxl/flux/sd15, tags a or b."""
    ids = {}
    for i in range(7):
        response = api.upload(
            f"img{i}.png",
            png((30 * i, 100, 200), pattern=i + 1),
            tags="a" if i % 2 == 0 else "b",
            metadata=json.dumps({"model": MODELS[i % 3]}),
        )
        assert response.status_code == 201, response.text
        ids[f"img{i}"] = response.json()["id"]
    return ids


def listing(api: Api, **params: Any) -> dict[str, Any]:
    response = api.http.get("/v1/assets", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids_of(body: dict[str, Any]) -> list[str]:
    return [item["asset"]["id"] for item in body["items"]]


def test_pages_through_everything_without_duplicates_or_gaps(
    api: Api, library: dict[str, str]
) -> None:
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, "sort": "name"}
        if cursor:
            params["cursor"] = cursor
        body = listing(api, **params)
        pages += 1
        assert body["total"] == 7
        assert len(body["items"]) <= 2
        seen.extend(ids_of(body))
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 4
    assert seen == [library[f"img{i}"] for i in range(7)]  # name order, each once


def test_default_is_newest_first_with_the_search_page_shape(
    api: Api, library: dict[str, str]
) -> None:
    body = listing(api)
    assert set(body) == {"total", "items", "facets", "next_cursor", "mode_used"}
    assert body["facets"] == {}
    assert body["next_cursor"] is None
    assert ids_of(body) == [library[f"img{i}"] for i in reversed(range(7))]
    assert all(item["score"] is None for item in body["items"])
    assert "workspace" not in body["items"][0]["asset"]


def test_filters_are_repeatable_query_parameters(api: Api, library: dict[str, str]) -> None:
    body = listing(api, model=["sdxl", "flux"], tags="a", type="image", sort="name")
    # sdxl: 0, 3, 6; flux: 1, 4; tag a: even indexes.
    assert ids_of(body) == [library["img0"], library["img4"], library["img6"]]
    assert listing(api, favorite="true")["total"] == 0
    assert listing(api, favorite="false")["total"] == 7
    assert listing(api, size_range="<100KB", size_min=1)["total"] == 7
    assert listing(api, created_to="2001-01-01T00:00:00Z")["total"] == 0


def test_facets_and_disjunctive_mode(api: Api, library: dict[str, str]) -> None:
    params: dict[str, Any] = {"model": "sdxl", "facets": ["model", "tags"]}
    conjunctive = listing(api, **params)
    assert conjunctive["total"] == 3
    assert {b["value"]: b["count"] for b in conjunctive["facets"]["model"]} == {"sdxl": 3}
    disjunctive = listing(api, **params, facet_mode="disjunctive")
    assert ids_of(disjunctive) == ids_of(conjunctive)
    assert {b["value"]: b["count"] for b in disjunctive["facets"]["model"]} == {
        "sdxl": 3, "flux": 2, "sd15": 2,
    }  # fmt: skip
    assert {b["value"]: b["count"] for b in disjunctive["facets"]["tags"]} == {"a": 2, "b": 1}


def test_another_workspace_lists_nothing_of_ours(other: Api, library: dict[str, str]) -> None:
    body = listing(other, facets="model")
    assert body == {
        "total": 0,
        "items": [],
        "facets": {"model": []},
        "next_cursor": None,
        "mode_used": "keyword",
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "9" * 40}, "limit"),
        ({"type": "spreadsheet"}, "type"),
        ({"favorite": "maybe"}, "favorite"),
        ({"created_month": "2026-1"}, "created_month"),
        ({"size_range": "tiny"}, "size_range"),
        ({"size_min": -1}, "size_min"),
        ({"created_from": "yesterday"}, "created_from"),
        ({"facets": "colour"}, "facets"),
        ({"facet_mode": "any"}, "facet_mode"),
        ({"sort": "colour"}, "sort"),
        ({"cursor": "!!!"}, "cursor"),
        ({"q": "text"}, "q"),
    ],
)
def test_bad_parameters_are_422_problems(
    api: Api, library: dict[str, str], params: dict[str, Any], field: str
) -> None:
    response = api.http.get("/v1/assets", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.json()["detail"]


def test_listing_needs_a_key(api: Api) -> None:
    response = api.http.get("/v1/assets", headers={"Authorization": ""})
    assert response.status_code == 401
