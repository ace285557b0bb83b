"""Favourites (PATCH) and POST /v1/assets/bulk over HTTP, on both backends."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import httpx
import pytest

from assetlens.access import Scope
from assetlens.bootstrap import Container
from tests.api.conftest import png
from tests.conftest import Api
from tests.support.openapi import resolve


def make_assets(api: Api, count: int, *, prompt: str = "", tags: str = "") -> list[dict[str, Any]]:
    """`count` fresh assets (distinct bytes), indexed."""
    assets = []
    for _ in range(count):
        seed = uuid.uuid4().int
        colour = (seed % 256, (seed >> 8) % 256, (seed >> 16) % 256)
        response = api.upload(
            f"{seed % 10_000}.png", png(colour, pattern=seed % 50 + 1), prompt=prompt, tags=tags
        )
        assert response.status_code == 201, response.text
        assets.append(response.json())
    return assets


def bulk(api: Api, wait: bool = True, **body: Any) -> httpx.Response:
    return api.http.post("/v1/assets/bulk", json=body, params={"wait": str(wait).lower()})


def fetch(api: Api, asset_id: str) -> dict[str, Any]:
    response = api.http.get(f"/v1/assets/{asset_id}")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def assert_problem(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


# -- favourites through PATCH ---------------------------------------------------------------


def test_patch_stars_and_unstars_an_asset(api: Api) -> None:
    (asset,) = make_assets(api, 1)
    assert asset["favorite"] is False
    starred = api.http.patch(
        f"/v1/assets/{asset['id']}", json={"favorite": True}, params={"wait": "true"}
    )
    assert starred.status_code == 200, starred.text
    assert starred.json()["favorite"] is True
    assert starred.json()["revision"] == asset["revision"] + 1
    assert fetch(api, asset["id"])["favorite"] is True
    found = api.search(filters={"ids": [asset["id"]]}).json()["items"]
    assert [item["asset"]["favorite"] for item in found] == [True]
    unstarred = api.http.patch(f"/v1/assets/{asset['id']}", json={"favorite": False})
    assert unstarred.json()["favorite"] is False


def test_patch_refuses_a_favorite_that_is_not_a_boolean(api: Api) -> None:
    (asset,) = make_assets(api, 1)
    response = api.http.patch(f"/v1/assets/{asset['id']}", json={"favorite": "very"})
    assert_problem(response, 422)
    assert fetch(api, asset["id"])["revision"] == asset["revision"]


# -- bulk by ids ----------------------------------------------------------------------------


def test_bulk_tag_and_untag_keep_other_tags_and_report_in_order(api: Api) -> None:
    assets = make_assets(api, 3, tags="keep")
    ids = [a["id"] for a in assets]
    tagged = bulk(api, action="tag", ids=ids, tags=["Batch-7", "ＢＯＬＤ", "batch-7"])
    assert tagged.status_code == 200, tagged.text
    assert tagged.json() == {"matched": 3, "succeeded": ids, "failed": []}
    for asset in assets:
        current = fetch(api, asset["id"])
        assert current["tags"] == ["keep", "batch-7", "bold"]
        assert current["revision"] == asset["revision"] + 1
    searched = api.search(filters={"tags": ["batch-7"], "ids": ids}).json()
    assert searched["total"] == 3  # wait=true: searchable when the answer comes
    untagged = bulk(api, action="untag", ids=ids, tags=["BATCH-7"])
    assert untagged.json()["succeeded"] == ids
    assert all(fetch(api, i)["tags"] == ["keep", "bold"] for i in ids)


def test_bulk_favorite_and_unfavorite(api: Api) -> None:
    assets = make_assets(api, 2)
    ids = [a["id"] for a in assets]
    starred = bulk(api, action="favorite", ids=ids)
    assert starred.json()["succeeded"] == ids
    assert [fetch(api, i)["favorite"] for i in ids] == [True, True]
    found = api.search(filters={"ids": ids}).json()["items"]
    assert {item["asset"]["favorite"] for item in found} == {True}
    again = bulk(api, action="favorite", ids=ids)  # already starred: a no-op, no new revision
    assert again.json()["succeeded"] == ids
    assert [fetch(api, i)["revision"] for i in ids] == [a["revision"] + 1 for a in assets]
    assert bulk(api, action="unfavorite", ids=ids).json()["succeeded"] == ids
    assert [fetch(api, i)["favorite"] for i in ids] == [False, False]


def test_bulk_move_into_a_folder_and_back_to_the_root(api: Api, other: Api) -> None:
    assets = make_assets(api, 2)
    ids = [a["id"] for a in assets]
    folder = api.http.post("/v1/folders", json={"name": f"bulk-{uuid.uuid4().hex[:8]}"})
    assert folder.status_code == 201, folder.text
    folder_id = folder.json()["id"]
    moved = bulk(api, action="move", ids=ids, folder_id=folder_id)
    assert moved.json() == {"matched": 2, "succeeded": ids, "failed": []}
    assert [fetch(api, i)["folder_id"] for i in ids] == [folder_id, folder_id]
    inside = api.search(filters={"folder_id": folder_id}).json()
    assert sorted(item["asset"]["id"] for item in inside["items"]) == sorted(ids)
    back = bulk(api, action="move", ids=ids[:1], folder_id=None)
    assert back.json()["succeeded"] == ids[:1]
    assert fetch(api, ids[0])["folder_id"] is None


def test_bulk_move_into_a_missing_or_foreign_folder_changes_nothing(api: Api, other: Api) -> None:
    (asset,) = make_assets(api, 1)
    theirs = other.http.post("/v1/folders", json={"name": f"theirs-{uuid.uuid4().hex[:8]}"})
    assert theirs.status_code == 201, theirs.text
    for folder_id in (theirs.json()["id"], uuid.uuid4().hex):
        response = bulk(api, action="move", ids=[asset["id"]], folder_id=folder_id)
        assert_problem(response, 422)
        assert "folder" in response.json()["detail"]
    current = fetch(api, asset["id"])
    assert current["folder_id"] is None
    assert current["revision"] == asset["revision"]


def test_bulk_delete_and_restore(api: Api) -> None:
    assets = make_assets(api, 2, prompt="quokka marmalade")
    ids = [a["id"] for a in assets]
    deleted = bulk(api, action="delete", ids=ids)
    assert deleted.json()["succeeded"] == ids
    assert {fetch(api, i)["status"] for i in ids} == {"deleted"}
    assert api.search(mode="keyword", q="quokka marmalade").json()["total"] == 0
    tag_trashed = bulk(api, action="tag", ids=ids[:1], tags=["x"])
    assert [f["status"] for f in tag_trashed.json()["failed"]] == [404]
    restored = bulk(api, action="restore", ids=ids)
    assert restored.json()["succeeded"] == ids
    assert {fetch(api, i)["status"] for i in ids} == {"ready"}
    assert api.search(mode="keyword", q="quokka marmalade").json()["total"] == 2


def test_restore_of_a_live_asset_succeeds_as_a_no_op(api: Api) -> None:
    (asset,) = make_assets(api, 1)
    response = bulk(api, action="restore", ids=[asset["id"]])
    assert response.json() == {"matched": 1, "succeeded": [asset["id"]], "failed": []}
    current = fetch(api, asset["id"])
    assert current["status"] == "ready"
    assert current["revision"] == asset["revision"]


def test_missing_and_other_workspace_ids_fail_one_by_one(api: Api, other: Api) -> None:
    mine = make_assets(api, 2)
    (theirs,) = make_assets(other, 1)
    missing = uuid.uuid4().hex
    ids = [mine[0]["id"], theirs["id"], missing, "../../etc", mine[1]["id"], mine[0]["id"]]
    response = bulk(api, action="tag", ids=ids, tags=["mine"])
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["matched"] == 5  # the repeated id counts once
    assert result["succeeded"] == [mine[0]["id"], mine[1]["id"]]
    assert [(f["id"], f["status"]) for f in result["failed"]] == [
        (theirs["id"], 404),
        (missing, 404),
        ("../../etc", 404),
    ]
    assert {f["title"] for f in result["failed"]} == {"Not found"}
    # Another workspace's asset looks exactly like a missing one, and is untouched.
    assert result["failed"][0]["detail"] == result["failed"][1]["detail"]
    assert fetch(other, theirs["id"])["tags"] == []
    assert fetch(other, theirs["id"])["revision"] == theirs["revision"]


# -- bulk by query --------------------------------------------------------------------------


def test_bulk_by_query_changes_exactly_the_matches(api: Api, other: Api) -> None:
    word = f"zeppelin{uuid.uuid4().hex[:8]}"
    matches = make_assets(api, 3, prompt=f"a {word} over the sea")
    (bystander,) = make_assets(api, 1, prompt="a submarine under the sea")
    (foreign,) = make_assets(other, 1, prompt=f"a {word} in another workspace")
    response = bulk(api, action="favorite", query={"q": word})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["matched"] == 3
    assert sorted(result["succeeded"]) == sorted(a["id"] for a in matches)
    assert all(fetch(api, a["id"])["favorite"] for a in matches)
    assert fetch(api, bystander["id"])["favorite"] is False
    assert fetch(other, foreign["id"])["favorite"] is False
    filtered = bulk(
        api,
        action="tag",
        tags=["airship"],
        query={"q": word, "filters": {"ids": [matches[0]["id"]]}},
    )
    assert filtered.json()["succeeded"] == [matches[0]["id"]]


def test_bulk_query_matching_nothing_changes_nothing(api: Api) -> None:
    response = bulk(api, action="delete", query={"q": f"nothing{uuid.uuid4().hex}"})
    assert response.status_code == 200, response.text
    assert response.json() == {"matched": 0, "succeeded": [], "failed": []}


# -- invalid requests: a 422 problem and nothing changed --------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"action": "paint", "ids": ["0" * 32]},
        {"action": "favorite"},
        {"action": "favorite", "ids": ["0" * 32], "query": {"q": "x"}},
        {"action": "favorite", "ids": []},
        {"action": "favorite", "ids": ["0" * 32] * 1001},
        {"action": "tag", "ids": ["0" * 32]},
        {"action": "tag", "ids": ["0" * 32], "tags": []},
        {"action": "favorite", "ids": ["0" * 32], "tags": ["x"]},
        {"action": "move", "ids": ["0" * 32]},
        {"action": "delete", "ids": ["0" * 32], "folder_id": None},
        {"action": "favorite", "query": {"q": "x", "filters": {"colour": ["red"]}}},
        {"action": "favorite", "ids": ["0" * 32], "force": True},
        {"action": "favorite", "ids": ["x" * 65]},
    ],
    ids=[
        "unknown-action",
        "neither",
        "both",
        "no-ids",
        "too-many-ids",
        "tag-without-tags",
        "empty-tags",
        "tags-on-favorite",
        "move-without-folder",
        "folder-on-delete",
        "unknown-filter",
        "unknown-field",
        "id-too-long",
    ],
)
def test_malformed_bulk_requests_are_refused(api: Api, body: dict[str, Any]) -> None:
    assert_problem(api.http.post("/v1/assets/bulk", json=body), 422)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ('"ids": ["\\ud800"]', "ids"),
        ('"query": {"q": "\\udfff"}', "query"),
        ('"ids": ["' + "9" * 32 + '"], "tags": ["a\\ud800"]', "tags"),
        ('"ids": ["' + "9" * 400 + '"]', "ids"),
    ],
    ids=["id-surrogate", "q-surrogate", "tag-surrogate", "id-huge"],
)
def test_lone_surrogates_and_huge_values_are_refused(api: Api, fields: str, named: str) -> None:
    action = "tag" if named == "tags" else "favorite"
    response = api.http.post(
        "/v1/assets/bulk",
        content=f'{{"action": "{action}", {fields}}}',
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 422)
    assert response.json()["errors"][0]["loc"][:2] == ["body", named]


@pytest.mark.parametrize(
    "tags",
    [["x" * 65], ["\u200b", "  "], ["ok", "y" * 300]],
    ids=["too-long", "blank-once-normalised", "over-field-limit"],
)
def test_bad_tags_refuse_the_whole_request(api: Api, tags: list[str]) -> None:
    assets = make_assets(api, 2)
    response = bulk(api, action="tag", ids=[a["id"] for a in assets], tags=tags)
    assert_problem(response, 422)
    assert [fetch(api, a["id"])["revision"] for a in assets] == [a["revision"] for a in assets]


def test_bulk_needs_a_key_with_write_scope(api: Api, live: tuple[str, Container]) -> None:
    base_url, container = live
    (asset,) = make_assets(api, 1)
    reader = Api(base_url, container.keys.create("alpha", "reader", frozenset({Scope.READ})))
    try:
        response = bulk(reader, action="favorite", ids=[asset["id"]])
        assert_problem(response, 403)
        anonymous = httpx.post(
            f"{base_url}/v1/assets/bulk", json={"action": "favorite", "ids": [asset["id"]]}
        )
        assert_problem(anonymous, 401)
    finally:
        reader.http.close()
    assert fetch(api, asset["id"])["favorite"] is False


def test_bulk_route_is_typed_in_openapi(api: Api) -> None:
    spec = api.http.get("/openapi.json").json()
    operation = spec["paths"]["/v1/assets/bulk"]["post"]
    assert operation["operationId"] == "assets_bulk"
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["$ref"].endswith("/BulkResult")
    problem = resolve(
        spec, operation["responses"]["422"]["content"]["application/problem+json"]["schema"]
    )
    assert set(problem["properties"]) >= {"type", "title", "status", "detail"}


# -- concurrency: bulk tags racing PATCHes lose nothing ---------------------------------------


def test_concurrent_bulk_tags_and_patches_lose_no_update(api: Api) -> None:
    assets = make_assets(api, 4)
    ids = [a["id"] for a in assets]
    rounds, bulk_threads, patch_threads = 4, 3, 3
    errors: list[str] = []
    patch_revisions: dict[str, list[int]] = {i: [] for i in ids}
    lock = threading.Lock()

    def bulk_tagger(worker: int) -> None:
        client = Api(api.base_url, api.key)
        try:
            for n in range(rounds):
                response = bulk(client, wait=False, action="tag", ids=ids, tags=[f"b{worker}-{n}"])
                if response.status_code != 200 or response.json()["failed"]:
                    errors.append(f"bulk: {response.status_code} {response.text}")
        finally:
            client.http.close()

    def patcher(worker: int) -> None:
        """Read-modify-write with If-Match, retrying on 412, as a careful client does."""
        client = Api(api.base_url, api.key)
        try:
            for n in range(rounds):
                for asset_id in ids:
                    for _ in range(200):
                        current = client.http.get(f"/v1/assets/{asset_id}")
                        tags = [*current.json()["tags"], f"p{worker}-{n}"]
                        response = client.http.patch(
                            f"/v1/assets/{asset_id}",
                            json={"tags": tags, "description": f"p{worker}-{n}"},
                            headers={"If-Match": current.headers["etag"]},
                        )
                        if response.status_code != 412:
                            break
                    if response.status_code != 200:
                        errors.append(f"patch: {response.status_code} {response.text}")
                        continue
                    with lock:
                        patch_revisions[asset_id].append(response.json()["revision"])
        finally:
            client.http.close()

    threads = [threading.Thread(target=bulk_tagger, args=(w,)) for w in range(bulk_threads)]
    threads += [threading.Thread(target=patcher, args=(w,)) for w in range(patch_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors[:3]
    writes = rounds * (bulk_threads + patch_threads)
    for asset in assets:
        final = fetch(api, asset["id"])
        expected = {f"b{w}-{n}" for w in range(bulk_threads) for n in range(rounds)}
        expected |= {f"p{w}-{n}" for w in range(patch_threads) for n in range(rounds)}
        assert set(final["tags"]) == expected
        # Every write made exactly one new revision: none was lost or merged into another.
        assert final["revision"] == asset["revision"] + writes
        seen = patch_revisions[asset["id"]]
        assert len(seen) == len(set(seen)) == rounds * patch_threads
        assert all(asset["revision"] < r <= final["revision"] for r in seen)
