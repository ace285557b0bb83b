"""POST /v1/search, similar and by-image over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.conftest import png
from tests.conftest import Api


@pytest.fixture(scope="module")
def library(api: Api) -> dict[str, str]:
    """A few assets in workspace alpha; returns name → id."""
    items = {
        "red-sunset": (
            png((230, 30, 20), pattern=1),
            "crimson sunset over the harbour",
            "sunset,sea",
            "flux-dev",
        ),
        "red-rose": (
            png((210, 20, 40), pattern=2),
            "a single crimson rose in a vase",
            "flower",
            "sdxl",
        ),
        "blue-sea": (png((20, 40, 220), pattern=3), "deep blue ocean waves", "sea", "flux-dev"),
        "green-hill": (
            png((30, 200, 40), pattern=4),
            "rolling green hills in spring",
            "landscape",
            "sd15",
        ),
        "cjk": (png((200, 200, 30), pattern=5), "桜の木の下で眠る猫", "japan", "sdxl"),
    }
    ids = {}
    for name, (data, prompt, tags, model) in items.items():
        response = api.upload(
            f"{name}.png", data, prompt=prompt, tags=tags, metadata=json.dumps({"model": model})
        )
        assert response.status_code == 201, response.text
        ids[name] = response.json()["id"]
    return ids


def ids_of(body: dict[str, Any]) -> list[str]:
    return [item["asset"]["id"] for item in body["items"]]


def test_keyword_search_finds_prompt_words_with_facets(api: Api, library: dict[str, str]) -> None:
    body = api.search(mode="keyword", q="crimson", facets=["model", "tags"]).json()
    assert set(ids_of(body)) == {library["red-sunset"], library["red-rose"]}
    assert body["total"] == 2
    models = {b["value"]: b["count"] for b in body["facets"]["model"]}
    assert models == {"flux-dev": 1, "sdxl": 1}


def test_filters_narrow_results_and_facets(api: Api, library: dict[str, str]) -> None:
    body = api.search(
        mode="keyword", q="crimson", filters={"model": ["sdxl"]}, facets=["model"]
    ).json()
    assert ids_of(body) == [library["red-rose"]]
    assert body["facets"]["model"] == [{"value": "sdxl", "count": 1}]
    tagged = api.search(filters={"tags": ["SEA"]}).json()
    assert set(ids_of(tagged)) == {library["red-sunset"], library["blue-sea"]}


def test_cjk_prompt_is_found_by_a_word(api: Api, library: dict[str, str]) -> None:
    assert ids_of(api.search(mode="keyword", q="猫").json()) == [library["cjk"]]
    assert ids_of(api.search(mode="keyword", q="桜の木").json()) == [library["cjk"]]


def test_word_forms_the_typed_word_and_model_names_find_assets(
    api: Api, library: dict[str, str]
) -> None:
    """docs/SEARCH.md over HTTP: plurals either way, the last word as typed so far (not once
    a space follows it), model names as words."""

    def found(q: str) -> set[str]:
        response = api.search(q=q, mode="keyword")
        assert response.status_code == 200, response.text
        return set(ids_of(response.json()))

    assert found("hill") == found("hills ") == {library["green-hill"]}
    assert found("roses") == {library["red-rose"]}
    assert found("wave ") == found("OCEAN WAVES") == {library["blue-sea"]}
    assert found("crims") == {library["red-sunset"], library["red-rose"]}
    assert found("crims ") == set()
    assert found("flux dev") == found("flux-dev") == {library["red-sunset"], library["blue-sea"]}


def test_cursor_pages_through_everything_once(api: Api, library: dict[str, str]) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        body = api.search(limit=2, cursor=cursor, sort="created_at:desc").json()
        seen.extend(ids_of(body))
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert set(library.values()) <= set(seen)


@pytest.mark.parametrize(
    "text",
    [
        "owner:*",
        "*",
        "(((",
        '"',
        "NEAR(a b)",
        "a OR b",
        "x" * 900,
        "\\",
        "tags:sea AND workspace:beta",
    ],
)
def test_query_syntax_is_plain_text(api: Api, library: dict[str, str], text: str) -> None:
    response = api.search(q=text)
    assert response.status_code == 200, response.text


def test_bad_search_requests_are_422(api: Api) -> None:
    assert api.search(q="a", mode="fuzzy").status_code == 422
    assert api.search(limit=1000).status_code == 422
    assert api.search(cursor="not-a-cursor!").status_code == 422
    assert api.search(filters={"owner": "x"}).status_code == 422
    assert api.search(sort="password").status_code == 422


def test_semantic_and_hybrid_use_the_embedder(api: Api, library: dict[str, str]) -> None:
    semantic = api.search(q="something red", mode="semantic", limit=2).json()
    assert set(ids_of(semantic)) == {library["red-sunset"], library["red-rose"]}
    hybrid = api.search(q="blue ocean", mode="hybrid", limit=3, facets=["tags"]).json()
    assert ids_of(hybrid)[0] == library["blue-sea"]
    assert hybrid["facets"]["tags"]


def test_similar_ranks_lookalikes_first(api: Api, library: dict[str, str]) -> None:
    response = api.http.get(f"/v1/assets/{library['red-sunset']}/similar", params={"limit": 3})
    assert response.status_code == 200, response.text
    ranked = ids_of(response.json())
    assert library["red-sunset"] not in ranked
    assert ranked[0] == library["red-rose"]


def test_search_by_image(api: Api, library: dict[str, str]) -> None:
    response = api.http.post(
        "/v1/search/by-image", params={"limit": 2}, files={"file": ("q.png", png((25, 45, 215)))}
    )
    assert response.status_code == 200, response.text
    assert ids_of(response.json())[0] == library["blue-sea"]
    text = api.http.post("/v1/search/by-image", files={"file": ("q.txt", b"hello")})
    assert text.status_code == 415
