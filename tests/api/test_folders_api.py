"""/v1/folders over HTTP on both backends: the tree, its rules, contents, counts, delete,
cross-workspace isolation and racing moves."""

from __future__ import annotations

import threading
import time
from itertools import count
from typing import Any

import httpx

from tests.api.conftest import png
from tests.conftest import Api
from tests.support.openapi import resolve

_colours = count(1)


def folder(api: Api, name: str, parent_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name}
    if parent_id is not None:
        body["parent_id"] = parent_id
    response = api.http.post("/v1/folders", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def upload_into(api: Api, folder_id: str | None, name: str = "x.png") -> str:
    n = next(_colours)
    data = png((n % 256, (n * 7) % 256, 90), pattern=n % 40)
    response = api.upload(name, data, folder_id=folder_id) if folder_id else api.upload(name, data)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def ids_of(body: dict[str, Any]) -> list[str]:
    return [item["asset"]["id"] for item in body["items"]]


def assert_problem(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


def eventually(check: Any, timeout: float = 20.0) -> Any:
    """Poll `check` until it returns a truthy value (indexing is asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def test_create_nested_folders_and_list_the_tree(api: Api) -> None:
    top = folder(api, "Campaigns")
    child = folder(api, "Spring", top["id"])
    grandchild = folder(api, "Heroes", child["id"])
    assert len(top["id"]) == 32 and top["parent_id"] is None and top["depth"] == 0
    assert top["path"] == [] and top["asset_count"] == 0
    assert grandchild["path"] == ["Campaigns", "Spring"] and grandchild["depth"] == 2
    listed = {f["id"]: f for f in api.http.get("/v1/folders").json()["items"]}
    assert listed[child["id"]]["parent_id"] == top["id"]
    assert listed[grandchild["id"]]["path"] == ["Campaigns", "Spring"]
    got = api.http.get(f"/v1/folders/{child['id']}")
    assert got.status_code == 200 and got.json()["name"] == "Spring"


def test_sibling_names_are_unique_after_normalisation(api: Api) -> None:
    """SECURITY: case, accents, compatibility forms and zero-width characters → one name."""
    top = folder(api, "Café Shots")
    for variant in ("café shots", "Cafe\u0301 Shots", "ＣＡＦＥ\u0301 SHOTS", "Ca\u200bfé Shots"):
        assert_problem(api.http.post("/v1/folders", json={"name": variant}), 409)
    # The same name under another parent is fine, and the display name is kept as given.
    nested = folder(api, "café shots", top["id"])
    assert nested["name"] == "café shots"
    renamed = api.http.patch(f"/v1/folders/{nested['id']}", json={"name": "Other"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Other"
    # Moving next to a sibling of the same (normalised) name is refused too.
    assert_problem(
        api.http.patch(
            f"/v1/folders/{nested['id']}", json={"name": "CAFÉ SHOTS", "parent_id": None}
        ),
        409,
    )


def test_bad_names_and_references_are_refused(api: Api) -> None:
    for body in (
        {"name": ""},
        {"name": "a/b"},
        {"name": ".."},
        {"name": "\u200b"},
        {"name": "x" * 256},
        {"name": "ok", "parent_id": "0" * 32},
        {"name": "ok", "extra": 1},
        {"name": 5},
    ):
        assert_problem(api.http.post("/v1/folders", json=body), 422)
    assert "ok" not in [f["name"] for f in api.http.get("/v1/folders").json()["items"]]


def test_rename_and_move_including_back_to_the_top_level(api: Api) -> None:
    a = folder(api, "Move A")
    b = folder(api, "Move B")
    moved = api.http.patch(f"/v1/folders/{b['id']}", json={"parent_id": a["id"]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["parent_id"] == a["id"] and moved.json()["path"] == ["Move A"]
    back = api.http.patch(f"/v1/folders/{b['id']}", json={"parent_id": None, "name": "B2"})
    assert back.status_code == 200
    assert back.json()["parent_id"] is None and back.json()["name"] == "B2"
    assert back.json()["updated_at"] >= b["updated_at"]


def test_move_into_own_subtree_is_a_conflict(api: Api) -> None:
    """SECURITY: folder cycles → 409."""
    top = folder(api, "Cycle top")
    mid = folder(api, "Cycle mid", top["id"])
    low = folder(api, "Cycle low", mid["id"])
    for target in (top["id"], mid["id"], low["id"]):
        assert_problem(api.http.patch(f"/v1/folders/{top['id']}", json={"parent_id": target}), 409)
    assert api.http.get(f"/v1/folders/{top['id']}").json()["parent_id"] is None


def test_very_deep_nesting_is_refused(api: Api) -> None:
    """SECURITY: very deep nesting → 422 beyond the depth limit (32 levels by default)."""
    parent: str | None = None
    for level in range(32):
        parent = folder(api, f"deep{level}", parent)["id"]
    assert_problem(
        api.http.post("/v1/folders", json={"name": "too deep", "parent_id": parent}), 422
    )
    shallow = folder(api, "deep subtree")
    folder(api, "leaf", shallow["id"])
    deepest = api.http.get(f"/v1/folders/{parent}").json()
    assert deepest["depth"] == 31
    assert_problem(
        api.http.patch(f"/v1/folders/{shallow['id']}", json={"parent_id": deepest["parent_id"]}),
        422,
    )


def race_moves(api: Api, moves: list[tuple[str, str]]) -> list[int]:
    """Send the PATCH moves (folder id, new parent id) at the same instant; their statuses."""
    barrier = threading.Barrier(len(moves))
    statuses = [0] * len(moves)

    def send(i: int) -> None:
        folder_id, parent = moves[i]
        with httpx.Client(
            base_url=api.base_url, timeout=60, headers={"Authorization": f"Bearer {api.key}"}
        ) as client:
            barrier.wait()
            statuses[i] = client.patch(
                f"/v1/folders/{folder_id}", json={"parent_id": parent}
            ).status_code

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(moves))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_racing_moves_never_create_a_cycle(api: Api) -> None:
    """Two moves racing (a under b, b under a): one wins, the other gets 409, never a cycle."""
    for round_ in range(4):
        a = folder(api, f"race a{round_}")
        b = folder(api, f"race b{round_}")
        statuses = race_moves(api, [(a["id"], b["id"]), (b["id"], a["id"])])
        assert sorted(statuses) == [200, 409], statuses
        tree = {f["id"]: f for f in api.http.get("/v1/folders").json()["items"]}
        assert [tree[a["id"]]["parent_id"], tree[b["id"]]["parent_id"]].count(None) == 1


def test_upload_and_patch_refuse_unknown_or_foreign_folders(api: Api, other: Api) -> None:
    theirs = folder(other, "Theirs")
    for bad in ("0" * 32, theirs["id"], "not-an-id"):
        response = api.upload("f.png", png((5, 5, 5)), folder_id=bad)
        assert_problem(response, 422)
        assert "folder_id names no folder" in response.json()["detail"]
    asset_id = upload_into(api, None)
    response = api.http.patch(f"/v1/assets/{asset_id}", json={"folder_id": theirs["id"]})
    assert_problem(response, 422)
    assert api.http.get(f"/v1/assets/{asset_id}").json()["folder_id"] is None


def test_counts_contents_pages_and_subfolders(api: Api) -> None:
    shelf = folder(api, "Shelf")
    inner = folder(api, "Inner", shelf["id"])
    placed = [upload_into(api, shelf["id"], f"s{i}.png") for i in range(3)]
    nested = upload_into(api, inner["id"])
    assert api.http.get(f"/v1/folders/{shelf['id']}").json()["asset_count"] == 3
    listed = {f["id"]: f for f in api.http.get("/v1/folders").json()["items"]}
    assert listed[inner["id"]]["asset_count"] == 1
    first = api.http.get(f"/v1/folders/{shelf['id']}/contents", params={"limit": 2}).json()
    assert first["folder"]["id"] == shelf["id"] and first["total"] == 3
    assert [f["id"] for f in first["subfolders"]] == [inner["id"]]
    assert first["subfolders"][0]["asset_count"] == 1
    second = api.http.get(
        f"/v1/folders/{shelf['id']}/contents", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert second["subfolders"] == [] and second["next_cursor"] is None
    assert sorted(ids_of(first) + ids_of(second)) == sorted(placed)
    assert nested not in ids_of(first) + ids_of(second)


def test_search_by_folder_with_and_without_subfolders(api: Api) -> None:
    top = folder(api, "Search top")
    sub = folder(api, "Search sub", top["id"])
    subsub = folder(api, "Search subsub", sub["id"])
    in_top, in_sub, in_subsub = (upload_into(api, f["id"]) for f in (top, sub, subsub))
    only = api.search(filters={"folder_id": [top["id"]]}).json()
    assert ids_of(only) == [in_top]
    whole = api.search(
        filters={"folder_id": [top["id"]], "include_subfolders": True}, facets=["folder"]
    ).json()
    assert sorted(ids_of(whole)) == sorted([in_top, in_sub, in_subsub])
    assert {b["value"] for b in whole["facets"]["folder"]} == {top["id"], sub["id"], subsub["id"]}
    middle = api.search(filters={"folder_id": sub["id"], "include_subfolders": True}).json()
    assert sorted(ids_of(middle)) == sorted([in_sub, in_subsub])


def test_root_contents_show_unfiled_assets_and_top_level_folders(api: Api) -> None:
    loose = upload_into(api, None, "loose.png")
    top = folder(api, "Root listed")
    filed = upload_into(api, top["id"])
    seen: list[str] = []
    cursor = None
    while True:
        body = api.http.get(
            "/v1/folders/root/contents", params={"limit": 100, "cursor": cursor}
        ).json()
        if cursor is None:
            assert body["folder"] is None
            assert top["id"] in [f["id"] for f in body["subfolders"]]
            assert all(f["parent_id"] is None for f in body["subfolders"])
        seen.extend(ids_of(body))
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert loose in seen and filed not in seen


def test_delete_refuses_non_empty_folders_unless_forced(api: Api) -> None:
    full = folder(api, "Full")
    sub = folder(api, "Full sub", full["id"])
    kept = upload_into(api, full["id"])
    below = upload_into(api, sub["id"])
    assert_problem(api.http.delete(f"/v1/folders/{full['id']}"), 409)
    assert_problem(api.http.delete(f"/v1/folders/{sub['id']}"), 409)  # holds an asset
    assert api.http.get(f"/v1/folders/{sub['id']}").status_code == 200
    forced = api.http.delete(f"/v1/folders/{full['id']}", params={"force": "true"})
    assert forced.status_code == 200, forced.text
    assert forced.json() == {"deleted_folders": 2, "trashed_assets": 2}
    for folder_id in (full["id"], sub["id"]):
        assert_problem(api.http.get(f"/v1/folders/{folder_id}"), 404)
    for asset_id in (kept, below):
        assert api.http.get(f"/v1/assets/{asset_id}").json()["status"] == "deleted"
    empty = folder(api, "Empty")
    gone = api.http.delete(f"/v1/folders/{empty['id']}")
    assert gone.status_code == 200 and gone.json()["deleted_folders"] == 1
    assert_problem(api.http.delete(f"/v1/folders/{empty['id']}"), 404)


def test_forced_delete_refuses_a_folder_holding_an_asset_in_use(api: Api) -> None:
    held = folder(api, "Held")
    free = upload_into(api, held["id"])
    used = upload_into(api, held["id"])
    ref = api.http.post(
        f"/v1/assets/{used}/references",
        json={"resource_type": "story", "resource_id": "s1", "usage_type": "cover"},
    )
    assert ref.status_code == 201, ref.text
    refused = api.http.delete(f"/v1/folders/{held['id']}", params={"force": "true"})
    assert_problem(refused, 409)
    assert refused.json()["assets_in_use"] == [used]
    assert api.http.get(f"/v1/folders/{held['id']}").status_code == 200
    for asset_id in (free, used):  # nothing trashed
        assert api.http.get(f"/v1/assets/{asset_id}").json()["status"] != "deleted"


def test_restored_asset_of_a_deleted_folder_shows_at_the_root(api: Api) -> None:
    doomed = folder(api, "Doomed")
    asset_id = upload_into(api, doomed["id"])
    api.http.delete(f"/v1/folders/{doomed['id']}", params={"force": "true"})
    restored = api.http.post(f"/v1/assets/{asset_id}/restore", params={"wait": "true"})
    assert restored.status_code == 200

    def at_root() -> bool:
        body = api.http.get(
            "/v1/folders/root/contents", params={"limit": 100, "sort": "created_at:desc"}
        )
        return asset_id in ids_of(body.json())

    assert eventually(at_root)


def test_other_workspaces_folders_answer_404(api: Api, other: Api) -> None:
    mine = folder(api, "Private")
    theirs_list = other.http.get("/v1/folders").json()["items"]
    assert mine["id"] not in [f["id"] for f in theirs_list]
    assert_problem(other.http.get(f"/v1/folders/{mine['id']}"), 404)
    assert_problem(other.http.get(f"/v1/folders/{mine['id']}/contents"), 404)
    assert_problem(other.http.patch(f"/v1/folders/{mine['id']}", json={"name": "x"}), 404)
    assert_problem(other.http.delete(f"/v1/folders/{mine['id']}"), 404)
    parent_ref = other.http.post("/v1/folders", json={"name": "sub", "parent_id": mine["id"]})
    assert_problem(parent_ref, 422)
    assert api.http.get(f"/v1/folders/{mine['id']}").json()["name"] == "Private"
    for path in ("/v1/folders/..%2F..%2Fsecret", "/v1/folders/" + "a" * 65):
        assert api.http.get(path).status_code in (404, 422)


def test_folder_routes_need_a_key_and_the_write_scope(api: Api, live: tuple[str, Any]) -> None:
    from assetlens.access import Scope

    base_url, container = live
    assert_problem(httpx.get(f"{base_url}/v1/folders"), 401)
    reader = container.keys.create("alpha", "reader", frozenset({Scope.READ}))
    headers = {"Authorization": f"Bearer {reader}"}
    assert httpx.get(f"{base_url}/v1/folders", headers=headers).status_code == 200
    assert_problem(httpx.post(f"{base_url}/v1/folders", json={"name": "r"}, headers=headers), 403)


def test_openapi_documents_folder_and_tag_routes(api: Api) -> None:
    spec = httpx.get(f"{api.base_url}/openapi.json").json()
    operations = {
        op["operationId"]: op
        for path in spec["paths"].values()
        for op in path.values()
        if isinstance(op, dict) and "operationId" in op
    }
    expected = {
        "folders_list": "200",
        "folders_create": "201",
        "folders_get": "200",
        "folders_update": "200",
        "folders_delete": "200",
        "folders_contents": "200",
        "tags_list": "200",
        "tags_rename": "200",
        "tags_delete": "200",
    }
    for operation_id, ok in expected.items():
        responses = operations[operation_id]["responses"]
        assert "$ref" in responses[ok]["content"]["application/json"]["schema"], operation_id
        problems = [status for status in responses if status.startswith("4")]
        assert problems, operation_id
        for status in problems:
            schema = resolve(
                spec, responses[status]["content"]["application/problem+json"]["schema"]
            )
            assert set(schema["required"]) == {"type", "title", "status", "detail"}
    assert "workspace" not in spec["components"]["schemas"]["AssetOut"]["properties"]
