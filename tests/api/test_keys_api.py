"""API key management over HTTP, on both backends: list, create, revoke, scopes."""

from __future__ import annotations

import httpx

from assetlens.access import Scope
from assetlens.bootstrap import Container
from tests.api.conftest import png
from tests.conftest import Api

Live = tuple[str, Container]


def client(live: Live, *scopes: Scope) -> Api:
    return Api(live[0], live[1].keys.create("alpha", "test", frozenset(scopes)))


def test_admin_creates_a_key_shown_once_and_lists_it(live: Live, api: Api, other: Api) -> None:
    created = api.http.post("/v1/keys", json={"name": "ci \u202ebot\n", "scopes": ["write"]})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["key"].startswith("alk_")
    assert body["scopes"] == ["read", "write"]
    assert body["workspace"] == "alpha"
    assert body["name"] == "ci bot"  # bidi and control characters dropped
    assert body["revoked_at"] is None
    assert body["key"].startswith(body["hint"])
    assert created.headers["cache-control"] == "no-store"
    new = Api(live[0], body["key"])
    assert new.upload("k.png", png((3, 33, 133))).status_code == 201
    assert new.http.get("/v1/keys").status_code == 403  # write is not admin
    listed = api.http.get("/v1/keys")
    assert listed.status_code == 200
    items = {item["id"]: item for item in listed.json()["items"]}
    assert items[body["id"]] == {k: v for k, v in body.items() if k != "key"}
    assert all(
        set(item) == {"id", "name", "workspace", "scopes", "created_at", "hint", "revoked_at"}
        for item in items.values()
    )
    assert body["key"] not in listed.text
    assert {item["workspace"] for item in items.values()} == {"alpha"}
    theirs = other.http.get("/v1/keys").json()["items"]
    assert body["id"] not in {item["id"] for item in theirs}
    new.http.close()


def test_key_creation_refuses_bad_bodies(api: Api) -> None:
    before = len(api.http.get("/v1/keys").json()["items"])
    for body in (
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["root"]},
        {"name": "x"},
        {"name": "x" * 101, "scopes": ["read"]},
        {"name": "x", "scopes": ["read"], "workspace": "beta"},
    ):
        response = api.http.post("/v1/keys", json=body)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"
    assert len(api.http.get("/v1/keys").json()["items"]) == before


def test_revoked_key_gets_401_everywhere_at_once(live: Live, api: Api) -> None:
    victim = client(live, Scope.READ)
    asset = api.upload("r.png", png((7, 77, 177))).json()
    assert victim.http.get(f"/v1/assets/{asset['id']}").status_code == 200
    key_id = live[1].keys.identify(victim.key).key_id
    response = api.http.delete(f"/v1/keys/{key_id}")
    assert response.status_code == 204
    refused = victim.http.get(f"/v1/assets/{asset['id']}")
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["detail"] == "API key revoked"
    listed = {item["id"]: item for item in api.http.get("/v1/keys").json()["items"]}
    assert listed[key_id]["revoked_at"] is not None
    again = api.http.delete(f"/v1/keys/{key_id}")
    assert again.status_code == 204  # idempotent
    assert api.http.get("/v1/keys").json()["items"] == list(listed.values())
    victim.http.close()


def test_revoking_needs_admin_and_a_key_of_this_workspace(live: Live, api: Api, other: Api) -> None:
    theirs = live[1].keys.identify(other.key).key_id
    for key_id in (theirs, "0" * 16, "not-an-id", theirs.upper(), "%2e%2e"):
        response = api.http.delete(f"/v1/keys/{key_id}")
        assert response.status_code == 404, key_id
    assert other.http.get("/v1/keys").status_code == 200  # still alive
    writer = client(live, Scope.WRITE)
    mine = live[1].keys.identify(api.key).key_id
    assert writer.http.delete(f"/v1/keys/{mine}").status_code == 403
    assert api.http.get("/v1/keys").status_code == 200
    writer.http.close()


def test_an_admin_may_revoke_its_own_key(live: Live) -> None:
    admin = client(live, Scope.ADMIN)
    own = live[1].keys.identify(admin.key).key_id
    assert admin.http.delete(f"/v1/keys/{own}").status_code == 204
    assert admin.http.get("/v1/keys").status_code == 401
    admin.http.close()


def test_a_read_only_key_gets_403_on_writes(live: Live, api: Api) -> None:
    reader = client(live, Scope.READ)
    asset = api.upload("ro.png", png((200, 1, 1))).json()
    path = f"/v1/assets/{asset['id']}"
    assert reader.http.get(path).status_code == 200
    assert reader.search(q="ro").status_code == 200
    for response in (
        reader.upload("no.png", png((1, 200, 1))),
        reader.http.patch(path, json={"name": "no"}),
        reader.http.delete(path),
        reader.http.post(f"{path}/restore"),
        reader.http.post("/v1/keys", json={"scopes": ["admin"]}),
    ):
        assert response.status_code == 403, response.request.url
        assert response.headers["content-type"] == "application/problem+json"
        assert "scope" in response.json()["detail"]
    assert api.http.get(path).json()["name"] == "ro.png"
    reader.http.close()


def test_garbage_credentials_get_401_problems(live: Live) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic YTpi"},
        {"Authorization": "Bearer alk_" + "A" * 500},
        {"Authorization": "Bearer not-a-key"},
    ):
        response = httpx.get(f"{live[0]}/v1/keys", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"
