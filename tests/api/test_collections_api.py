"""Collections and sharing over HTTP, on both backends: every route × owner / other
workspace / viewer / editor / anonymous, revocation, order, trash, search restriction."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from assetlens.access import Scope
from assetlens.bootstrap import Container
from tests.api.conftest import png
from tests.conftest import Api
from tests.support.openapi import resolve


@dataclass
class World:
    """Assets of the owner (alpha) and the workspaces the matrix plays."""

    owner: Api
    other: Api  # beta: no share at all
    viewer: Api  # gamma
    editor: Api  # delta
    anonymous: httpx.Client
    member: str  # in every fresh collection
    spare: str  # alpha's, in no collection
    lent: str  # alpha's, in a collection shared with the editor (it may add it elsewhere)
    base_url: str
    container: Container

    def client(self, role: str) -> httpx.Client:
        if role == "anonymous":
            return self.anonymous
        api: Api = getattr(self, role)
        return api.http

    def fresh_collection(self, name: str = "Moodboard") -> str:
        """A collection of alpha holding `member`, shared view → gamma, edit → delta."""
        created = self.owner.http.post("/v1/collections", json={"name": name})
        assert created.status_code == 201, created.text
        cid: str = created.json()["id"]
        added = self.owner.http.post(
            f"/v1/collections/{cid}/items", json={"asset_ids": [self.member]}
        )
        assert added.status_code == 200, added.text
        for workspace, role in (("gamma", "view"), ("delta", "edit")):
            shared = self.owner.http.put(
                f"/v1/collections/{cid}/shares/{workspace}", json={"role": role}
            )
            assert shared.status_code == 200, shared.text
        return cid


@pytest.fixture(scope="module")
def world(live: tuple[str, Container], api: Api, other: Api) -> Iterator[World]:
    base_url, container = live
    viewer = Api(base_url, container.keys.create("gamma"))
    editor = Api(base_url, container.keys.create("delta"))
    anonymous = httpx.Client(base_url=base_url, timeout=60)
    member = api.upload("member.png", png((200, 100, 0)), prompt="quokka on a beach").json()
    spare = api.upload("spare.png", png((0, 100, 200)), prompt="quokka in a forest").json()
    lent = api.upload("lent.png", png((10, 200, 100))).json()
    state = World(
        api,
        other,
        viewer,
        editor,
        anonymous,
        member["id"],
        spare["id"],
        lent["id"],
        base_url,
        container,
    )
    library = api.http.post("/v1/collections", json={"name": "Library"}).json()["id"]
    api.http.post(f"/v1/collections/{library}/items", json={"asset_ids": [lent["id"]]})
    api.http.put(f"/v1/collections/{library}/shares/delta", json={"role": "edit"})
    yield state
    for client in (viewer, editor):
        client.http.close()
    anonymous.close()


Request = Callable[[World, str], tuple[str, str, dict[str, Any] | None]]

ROLES = ("owner", "other", "viewer", "editor", "anonymous")


def _route(
    method: str, path: str, body: Callable[[World], dict[str, Any]] | None = None
) -> Request:
    def build(world: World, cid: str) -> tuple[str, str, dict[str, Any] | None]:
        url = "/v1/collections" + path.format(cid=cid, member=world.member)
        return method, url, body(world) if body else None

    return build


# route → (request, expected status for owner, other, viewer, editor, anonymous)
MATRIX: dict[str, tuple[Request, tuple[int, int, int, int, int]]] = {
    "get": (_route("GET", "/{cid}"), (200, 404, 200, 200, 401)),
    "rename": (_route("PATCH", "/{cid}", lambda w: {"name": "Renamed"}), (200, 404, 403, 403, 401)),
    "delete": (_route("DELETE", "/{cid}"), (204, 404, 403, 403, 401)),
    "items": (_route("GET", "/{cid}/items"), (200, 404, 200, 200, 401)),
    "add": (
        _route("POST", "/{cid}/items", lambda w: {"asset_ids": [w.lent]}),
        (200, 404, 403, 200, 401),
    ),
    "reorder": (
        _route("PUT", "/{cid}/items/order", lambda w: {"asset_ids": [w.member]}),
        (200, 404, 403, 200, 401),
    ),
    "remove": (_route("DELETE", "/{cid}/items/{member}"), (204, 404, 403, 204, 401)),
    "share": (
        _route("PUT", "/{cid}/shares/epsilon", lambda w: {"role": "view"}),
        (200, 404, 403, 403, 401),
    ),
    "unshare": (_route("DELETE", "/{cid}/shares/gamma"), (204, 404, 403, 403, 401)),
    "asset": (_route("GET", "/{cid}/assets/{member}"), (200, 404, 200, 200, 401)),
    "content": (_route("GET", "/{cid}/assets/{member}/content"), (200, 404, 200, 200, 401)),
    "thumbnail": (_route("GET", "/{cid}/assets/{member}/thumbnail"), (200, 404, 200, 200, 401)),
    "tags": (
        _route("PATCH", "/{cid}/assets/{member}/tags", lambda w: {"tags": ["Shared"]}),
        (200, 404, 403, 200, 401),
    ),
    "search": (
        _route("POST", "/{cid}/search", lambda w: {"q": "quokka"}),
        (200, 404, 200, 200, 401),
    ),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", sorted(MATRIX))
def test_route_by_role(world: World, route: str, role: str) -> None:
    request, expected = MATRIX[route]
    cid = world.fresh_collection()
    method, url, body = request(world, cid)
    response = world.client(role).request(method, url, json=body)
    assert response.status_code == expected[ROLES.index(role)], response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        # a refused request changed nothing
        after = world.owner.http.get(f"/v1/collections/{cid}").json()
        assert after["revision"] == 4  # create, add, share, share
        assert after["name"] == "Moodboard"


@pytest.mark.parametrize("role", ROLES)
def test_list_and_create_by_role(world: World, role: str) -> None:
    client = world.client(role)
    listed = client.get("/v1/collections")
    created = client.post("/v1/collections", json={"name": f"{role}'s own"})
    if role == "anonymous":
        assert (listed.status_code, created.status_code) == (401, 401)
        return
    assert listed.status_code == 200
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "owner"
    assert (
        created.json()["owner"]
        == {"owner": "alpha", "other": "beta", "viewer": "gamma", "editor": "delta"}[role]
    )
    assert created.json()["id"] in {c["id"] for c in client.get("/v1/collections").json()["items"]}


@pytest.mark.parametrize("route", sorted(MATRIX))
def test_missing_collection_is_404_like_another_workspaces(world: World, route: str) -> None:
    request, _ = MATRIX[route]
    method, url, body = request(world, uuid.uuid4().hex)
    response = world.owner.http.request(method, url, json=body)
    assert response.status_code == 404, response.text
    malformed = world.owner.http.request(
        method, url.replace(url.split("/")[3], "NOT-AN-ID"), json=body
    )
    assert malformed.status_code == 404


def test_list_shows_own_and_shared_with_roles(world: World) -> None:
    cid = world.fresh_collection("Listed")
    mine = {c["id"]: c for c in world.owner.http.get("/v1/collections").json()["items"]}
    assert mine[cid]["role"] == "owner"
    assert mine[cid]["shares"] == {"gamma": "view", "delta": "edit"}
    assert mine[cid]["item_count"] == 1
    seen = {c["id"]: c for c in world.viewer.http.get("/v1/collections").json()["items"]}
    assert seen[cid]["role"] == "view"
    assert seen[cid]["owner"] == "alpha"
    assert seen[cid]["shares"] == {}  # grantees do not learn who else it is shared with
    edited = {c["id"]: c for c in world.editor.http.get("/v1/collections").json()["items"]}
    assert edited[cid]["role"] == "edit"
    assert cid not in {c["id"] for c in world.other.http.get("/v1/collections").json()["items"]}
    assert world.anonymous.get("/v1/collections").status_code == 401


def test_revocation_takes_effect_on_the_very_next_request(world: World) -> None:
    cid = world.fresh_collection()
    asset_url = f"/v1/collections/{cid}/assets/{world.member}/content"
    assert world.viewer.http.get(asset_url).status_code == 200
    revoked = world.owner.http.delete(f"/v1/collections/{cid}/shares/gamma")
    assert revoked.status_code == 204
    assert world.viewer.http.get(asset_url).status_code == 404
    assert world.viewer.http.get(f"/v1/collections/{cid}").status_code == 404
    listed = world.viewer.http.get("/v1/collections").json()["items"]
    assert cid not in {c["id"] for c in listed}
    assert world.editor.http.get(asset_url).status_code == 200  # other shares stay
    again = world.owner.http.delete(f"/v1/collections/{cid}/shares/gamma")
    assert again.status_code == 404


def test_downgrading_an_editor_to_viewer_stops_edits_at_once(world: World) -> None:
    cid = world.fresh_collection()
    world.owner.http.put(f"/v1/collections/{cid}/shares/delta", json={"role": "view"})
    response = world.editor.http.delete(f"/v1/collections/{cid}/items/{world.member}")
    assert response.status_code == 403
    assert world.editor.http.get(f"/v1/collections/{cid}").json()["role"] == "view"


def test_deleting_a_collection_withdraws_its_shares_not_its_assets(world: World) -> None:
    cid = world.fresh_collection()
    assert world.owner.http.delete(f"/v1/collections/{cid}").status_code == 204
    assert world.owner.http.get(f"/v1/collections/{cid}").status_code == 404
    assert world.viewer.http.get(f"/v1/collections/{cid}").status_code == 404
    assert cid not in {c["id"] for c in world.editor.http.get("/v1/collections").json()["items"]}
    assert world.owner.http.get(f"/v1/assets/{world.member}").status_code == 200


def test_viewer_sees_only_the_collections_assets(world: World) -> None:
    cid = world.fresh_collection()
    for path in ("", "/content", "/thumbnail"):
        outside = world.viewer.http.get(f"/v1/collections/{cid}/assets/{world.spare}{path}")
        assert outside.status_code == 404, path
    assert world.viewer.http.get(f"/v1/assets/{world.member}").status_code == 404
    tags = world.editor.http.patch(
        f"/v1/collections/{cid}/assets/{world.spare}/tags", json={"tags": ["x"]}
    )
    assert tags.status_code == 404
    body = world.viewer.http.get(f"/v1/collections/{cid}/assets/{world.member}").json()
    assert body["id"] == world.member
    assert "workspace" not in body


def test_search_is_restricted_to_the_collection(world: World) -> None:
    cid = world.fresh_collection()
    everywhere = world.owner.search(mode="keyword", q="quokka").json()
    assert {world.member, world.spare} <= {i["asset"]["id"] for i in everywhere["items"]}
    found = world.viewer.http.post(
        f"/v1/collections/{cid}/search", json={"mode": "keyword", "q": "quokka", "facets": ["type"]}
    )
    assert found.status_code == 200, found.text
    page = found.json()
    assert [i["asset"]["id"] for i in page["items"]] == [world.member]
    assert page["total"] == 1
    assert page["facets"]["type"] == [{"value": "image", "count": 1}]
    smuggled = world.viewer.http.post(
        f"/v1/collections/{cid}/search",
        json={"mode": "keyword", "q": "quokka", "filters": {"ids": [world.spare]}},
    )
    assert smuggled.json()["total"] == 0
    trash = world.viewer.http.post(
        f"/v1/collections/{cid}/search", json={"filters": {"status": ["deleted"]}}
    )
    assert trash.json()["total"] == 0
    bad = world.viewer.http.post(f"/v1/collections/{cid}/search", json={"sql": "1"})
    assert bad.status_code == 422


def test_items_keep_their_order_and_can_be_reordered(world: World) -> None:
    cid = world.fresh_collection()
    # its own asset: `spare` must stay unshared for the editor tests
    extra = world.owner.upload("extra.png", png((1, 99, 1))).json()["id"]
    add = world.owner.http.post(
        f"/v1/collections/{cid}/items", json={"asset_ids": [extra, world.lent], "position": 0}
    )
    assert add.json()["item_count"] == 3

    def order() -> list[str]:
        page = world.viewer.http.get(f"/v1/collections/{cid}/items").json()
        return [item["asset"]["id"] for item in page["items"]]

    assert order() == [extra, world.lent, world.member]
    again = world.owner.http.post(
        f"/v1/collections/{cid}/items", json={"asset_ids": [world.member]}
    )
    assert again.json()["item_count"] == 3  # already there: not duplicated, not moved
    moved = world.editor.http.put(
        f"/v1/collections/{cid}/items/order", json={"asset_ids": [world.member, extra]}
    )
    assert moved.status_code == 200
    assert order() == [world.member, extra, world.lent]
    first = world.viewer.http.get(f"/v1/collections/{cid}/items", params={"limit": 2}).json()
    assert [i["position"] for i in first["items"]] == [0, 1]
    rest = world.viewer.http.get(
        f"/v1/collections/{cid}/items", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [i["asset"]["id"] for i in rest["items"]] == [world.lent]
    assert rest["next_cursor"] is None
    unknown = world.owner.http.put(
        f"/v1/collections/{cid}/items/order", json={"asset_ids": [uuid.uuid4().hex]}
    )
    assert unknown.status_code == 422
    bad_cursor = world.viewer.http.get(f"/v1/collections/{cid}/items", params={"cursor": "9" * 400})
    assert bad_cursor.status_code == 422


def test_what_an_editor_may_add(world: World) -> None:
    cid = world.fresh_collection()
    own = world.editor.upload("delta.png", png((5, 5, 250))).json()
    for refused in (world.spare, own["id"], uuid.uuid4().hex, "not-an-id"):
        response = world.editor.http.post(
            f"/v1/collections/{cid}/items", json={"asset_ids": [refused]}
        )
        assert response.status_code == 422, refused
    assert world.owner.http.get(f"/v1/collections/{cid}").json()["item_count"] == 1
    lent = world.editor.http.post(f"/v1/collections/{cid}/items", json={"asset_ids": [world.lent]})
    assert lent.status_code == 200
    assert lent.json()["item_count"] == 2
    items = world.owner.http.get(f"/v1/collections/{cid}/items").json()["items"]
    assert items[-1]["added_by"] == "delta"
    viewed = world.viewer.http.get(f"/v1/collections/{cid}/items").json()["items"]
    assert viewed[-1]["added_by"] is None
    foreign = world.owner.http.post(f"/v1/collections/{cid}/items", json={"asset_ids": [own["id"]]})
    assert foreign.status_code == 422


def test_editor_edits_tags_of_a_shared_asset(world: World) -> None:
    cid = world.fresh_collection()
    response = world.editor.http.patch(
        f"/v1/collections/{cid}/assets/{world.member}/tags",
        json={"tags": ["Beach", "beach", "Sunny"]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["tags"] == ["beach", "sunny"]
    assert world.owner.http.get(f"/v1/assets/{world.member}").json()["tags"] == ["beach", "sunny"]


def test_trashed_assets_disappear_from_collection_views(world: World) -> None:
    cid = world.fresh_collection()
    doomed = world.owner.upload("doomed.png", png((90, 90, 10)), prompt="quokka trash").json()
    world.owner.http.post(f"/v1/collections/{cid}/items", json={"asset_ids": [doomed["id"]]})
    world.owner.http.delete(f"/v1/assets/{doomed['id']}", params={"wait": "true"})
    items = world.viewer.http.get(f"/v1/collections/{cid}/items").json()["items"]
    assert [i["asset"]["id"] for i in items] == [world.member]
    assert world.viewer.http.get(f"/v1/collections/{cid}/assets/{doomed['id']}").status_code == 404
    found = world.viewer.http.post(
        f"/v1/collections/{cid}/search", json={"mode": "keyword", "q": "trash"}
    )
    assert found.json()["total"] == 0
    added = world.owner.http.post(
        f"/v1/collections/{cid}/items", json={"asset_ids": [doomed["id"]]}
    )
    assert added.status_code == 422  # a trashed asset cannot be added…
    collection = world.owner.http.get(f"/v1/collections/{cid}").json()
    assert collection["item_count"] == 2  # …but stays an item, hidden until restored
    world.owner.http.post(f"/v1/assets/{doomed['id']}/restore", params={"wait": "true"})
    assert world.viewer.http.get(f"/v1/collections/{cid}/assets/{doomed['id']}").status_code == 200


def test_shared_content_is_served_like_the_assets_own(world: World) -> None:
    cid = world.fresh_collection()
    url = f"/v1/collections/{cid}/assets/{world.member}/content"
    full = world.viewer.http.get(url)
    assert full.headers["content-type"] == "image/png"
    assert full.headers["x-content-type-options"] == "nosniff"
    assert full.content == world.owner.http.get(f"/v1/assets/{world.member}/content").content
    assert (
        world.viewer.http.get(url, headers={"If-None-Match": full.headers["etag"]}).status_code
        == 304
    )
    part = world.viewer.http.get(url, headers={"Range": "bytes=0-3"})
    assert part.status_code == 206
    assert part.content == full.content[:4]
    thumb = world.viewer.http.get(
        f"/v1/collections/{cid}/assets/{world.member}/thumbnail", params={"size": "medium"}
    )
    assert thumb.headers["content-type"] == "image/webp"


def _fill(value: Any, member: str) -> Any:
    """`value` with every "{member}" string replaced by the member asset's id."""
    if isinstance(value, dict):
        return {k: _fill(v, member) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, member) for v in value]
    return member if value == "{member}" else value


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "", {"name": ""}),
        ("POST", "", {"name": "\u200b \u202e"}),
        ("POST", "", {"name": "x" * 1000}),
        ("POST", "", {"name": "ok", "owner": "beta"}),
        ("PATCH", "/{cid}", {"name": None, "shares": {}}),
        ("PUT", "/{cid}/shares/alpha", {"role": "view"}),
        ("PUT", "/{cid}/shares/Not%20A%20Workspace", {"role": "view"}),
        ("PUT", "/{cid}/shares/epsilon", {"role": "owner"}),
        ("POST", "/{cid}/items", {"asset_ids": []}),
        ("POST", "/{cid}/items", {"asset_ids": ["{member}"], "position": 10**30}),
        ("PUT", "/{cid}/items/order", {"asset_ids": ["{member}", "{member}"]}),
        ("PATCH", "/{cid}/assets/{member}/tags", {"tags": ["x" * 200]}),
    ],
)
def test_bad_input_is_422_and_changes_nothing(
    world: World, method: str, path: str, body: dict[str, Any]
) -> None:
    cid = world.fresh_collection()
    payload = _fill(body, world.member)
    response = world.owner.http.request(
        method, "/v1/collections" + path.format(cid=cid, member=world.member), json=payload
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    after = world.owner.http.get(f"/v1/collections/{cid}").json()
    assert after["revision"] == 4


def test_read_only_key_of_an_editor_cannot_edit(world: World) -> None:
    cid = world.fresh_collection()
    reader = Api(
        world.base_url, world.container.keys.create("delta", scopes=frozenset({Scope.READ}))
    )
    try:
        assert reader.http.get(f"/v1/collections/{cid}").status_code == 200
        response = reader.http.delete(f"/v1/collections/{cid}/items/{world.member}")
        assert response.status_code == 403
    finally:
        reader.http.close()


def test_every_collection_route_is_typed_in_openapi(world: World) -> None:
    spec = world.owner.http.get("/openapi.json").json()
    operations = [
        (path, method, op)
        for path, item in spec["paths"].items()
        if path.startswith("/v1/collections")
        for method, op in item.items()
    ]
    assert len(operations) == len(MATRIX) + 2  # + list and create
    for path, method, op in operations:
        assert op["operationId"].startswith("collections_"), (path, method)
        assert op["summary"], (path, method)
        problem = op["responses"]["404" if "{collection_id}" in path else "401"]
        schema = resolve(spec, problem["content"]["application/problem+json"]["schema"])
        assert {"type", "title", "status", "detail"} <= set(schema["properties"]), (path, method)
        ok = next(v for k, v in op["responses"].items() if k.startswith("2"))
        if method != "delete" and not path.endswith(("/content", "/thumbnail")):
            body = ok["content"]["application/json"]["schema"]
            assert body["$ref"].startswith("#/components/schemas/"), (path, method)
