"""/v1/tags over HTTP on both backends: normalisation, counts, rename (merge), delete,
cross-workspace isolation."""

from __future__ import annotations

import time
from itertools import count
from typing import Any
from urllib.parse import quote

import httpx

from tests.api.conftest import png
from tests.conftest import Api

_colours = count(100)


def tagged(api: Api, tags: str) -> str:
    n = next(_colours)
    response = api.upload(f"t{n}.png", png((n % 256, 20, (n * 3) % 256), pattern=n % 40), tags=tags)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def tag_counts(api: Api, prefix: str = "") -> dict[str, int]:
    response = api.http.get("/v1/tags", params={"prefix": prefix, "limit": 200})
    assert response.status_code == 200, response.text
    return {item["name"]: item["count"] for item in response.json()["items"]}


def tags_of(api: Api, asset_id: str) -> list[str]:
    return list(api.http.get(f"/v1/assets/{asset_id}").json()["tags"])


def eventually(check: Any, timeout: float = 20.0) -> Any:
    """Poll `check` until it returns a truthy value (indexing is asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def assert_problem(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_tag_spellings_are_one_tag_everywhere(api: Api) -> None:
    """SECURITY: case, accents, compatibility forms and zero-width characters → one tag,
    on upload, on PATCH, in search filters and on the tag routes."""
    first = tagged(api, "Crème,ＳＥＡ")
    second = tagged(api, "cre\u0300me,se\u200ba")
    assert tags_of(api, first) == tags_of(api, second) == ["crème", "sea"]
    patched = api.http.patch(
        f"/v1/assets/{second}",
        params={"wait": "true"},
        json={"tags": ["\ufeffCRÈME", "Sea", "sea"]},
    )
    assert patched.json()["tags"] == ["crème", "sea"]
    counts = tag_counts(api, prefix="CRE\u0300")
    assert counts == {"crème": 2}
    found = api.search(filters={"tags": ["ｃｒèｍｅ"]}).json()
    assert {item["asset"]["id"] for item in found["items"]} == {first, second}


def test_list_counts_most_used_first_with_prefix_and_limit(api: Api) -> None:
    for _ in range(3):
        tagged(api, "lst-alpha")
    tagged(api, "lst-beta,lst-alpha")
    tagged(api, "other-gamma")
    counts = tag_counts(api, prefix="lst-")
    assert counts == {"lst-alpha": 4, "lst-beta": 1}
    items = api.http.get("/v1/tags", params={"prefix": "lst-", "limit": 1}).json()["items"]
    assert items == [{"name": "lst-alpha", "count": 4}]
    assert_problem(api.http.get("/v1/tags", params={"limit": 0}), 422)


def test_rename_merges_into_an_existing_tag(api: Api) -> None:
    both = tagged(api, "rn-sunset,rn-dusk,keep")
    only_old = tagged(api, "rn-dusk")
    untouched = tagged(api, "rn-sunset")
    response = api.http.patch("/v1/tags/RN-DUSK", json={"name": "Rn-Sunset"})
    assert response.status_code == 200, response.text
    assert response.json() == {"changed": 2}
    assert tags_of(api, both) == ["rn-sunset", "keep"]
    assert tags_of(api, only_old) == ["rn-sunset"]
    assert tags_of(api, untouched) == ["rn-sunset"]
    assert eventually(lambda: tag_counts(api, prefix="rn-") == {"rn-sunset": 3})


def test_rename_to_a_new_name_and_refusals(api: Api) -> None:
    asset_id = tagged(api, "old-name")
    renamed = api.http.patch("/v1/tags/old-name", json={"name": "New Name"})
    assert renamed.json() == {"changed": 1}
    assert tags_of(api, asset_id) == ["new name"]
    assert_problem(api.http.patch("/v1/tags/new name", json={"name": "\u200b "}), 422)
    assert_problem(api.http.patch("/v1/tags/new name", json={"name": "x" * 65}), 422)
    assert_problem(api.http.patch("/v1/tags/new name", json={}), 422)
    assert_problem(api.http.patch("/v1/tags/never-used", json={"name": "x"}), 404)
    assert tags_of(api, asset_id) == ["new name"]


def test_delete_unlinks_everywhere_including_the_trash(api: Api) -> None:
    live_one = tagged(api, "del-me,stay")
    trashed = tagged(api, "del-me")
    api.http.delete(f"/v1/assets/{trashed}", params={"wait": "true"})
    response = api.http.delete("/v1/tags/DEL-ME")
    assert response.status_code == 200 and response.json() == {"changed": 2}
    assert tags_of(api, live_one) == ["stay"]
    assert tags_of(api, trashed) == []
    everywhere = {"tags": ["del-me"], "status": ["processing", "ready", "failed", "deleted"]}
    assert eventually(lambda: api.search(filters=everywhere).json()["total"] == 0)
    assert "del-me" not in tag_counts(api, prefix="del")
    assert_problem(api.http.delete("/v1/tags/del-me"), 404)


def test_a_tag_with_a_slash_in_it(api: Api) -> None:
    asset_id = tagged(api, "a/b")
    response = api.http.delete(f"/v1/tags/{quote('a/b', safe='')}")
    assert response.status_code == 200 and response.json() == {"changed": 1}
    assert tags_of(api, asset_id) == []


def test_other_workspace_cannot_see_or_change_tags(api: Api, other: Api) -> None:
    asset_id = tagged(api, "secret-tag")
    assert "secret-tag" not in tag_counts(other)
    assert_problem(other.http.patch("/v1/tags/secret-tag", json={"name": "mine"}), 404)
    assert_problem(other.http.delete("/v1/tags/secret-tag"), 404)
    assert tags_of(api, asset_id) == ["secret-tag"]
    assert_problem(httpx.get(f"{api.base_url}/v1/tags"), 401)


def test_prefix_finds_a_rare_tag_among_300_more_used(api: Api) -> None:
    """200 tags on two assets each and 100 on one outrank the rare tag; the prefix still
    finds it (it used to be applied to the 200 most used tags only)."""
    for group in ((0, 100), (0, 100), (100, 200), (100, 200), (200, 300)):
        tagged(api, ",".join(f"p300-common-{i:03}" for i in range(*group)))
    rare = tagged(api, "p300-rare-find")
    assert len(tag_counts(api, prefix="p300-")) == 200
    assert "p300-rare-find" not in tag_counts(api, prefix="p300-")
    assert tag_counts(api, prefix="P300-RARE") == {"p300-rare-find": 1}
    items = api.http.get("/v1/tags", params={"prefix": "p300-common-1", "limit": 3})
    assert items.json()["items"] == [{"name": f"p300-common-1{i:02}", "count": 2}
                                     for i in range(3)]  # fmt: skip
    assert tags_of(api, rare) == ["p300-rare-find"]


def test_prefix_longer_than_any_tag_or_made_of_pattern_characters(api: Api) -> None:
    tagged(api, "pat.tern,pattern-x,pat%,pat_")
    assert tag_counts(api, prefix="pat.") == {"pat.tern": 1}
    assert tag_counts(api, prefix="pat%") == {"pat%": 1}
    assert tag_counts(api, prefix="pat_") == {"pat_": 1}
    # Each U+FDFA normalises to 18 characters: longer than a tag can be, so nothing.
    assert tag_counts(api, prefix="\ufdfa" * 10) == {}
    assert_problem(api.http.get("/v1/tags", params={"prefix": "x" * 257}), 422)
