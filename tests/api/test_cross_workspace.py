"""Another workspace's asset id answers exactly like a missing one (404, same problem) on
every route that takes an asset id (SECURITY.md: "Another workspace's id on every route").

The routes come from the app itself: a new asset route without a row in CALLS fails here.
Collection routes have their own role matrix (test_collections_api.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import iter_route_contexts

from api.app import create_app
from assetlens.bootstrap import Container
from tests.api.conftest import png
from tests.conftest import Api

Live = tuple[str, Container]
REF = "0" * 32
FILE = {"files": {"file": ("v.png", png((1, 2, 3)))}}

# (method, path) → request arguments that would succeed for the owner.
CALLS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/v1/assets/{asset_id}"): {},
    ("PATCH", "/v1/assets/{asset_id}"): {"json": {"tags": ["x"]}},
    ("DELETE", "/v1/assets/{asset_id}"): {},
    ("POST", "/v1/assets/{asset_id}/restore"): {},
    ("GET", "/v1/assets/{asset_id}/content"): {},
    ("GET", "/v1/assets/{asset_id}/thumbnail"): {},
    ("GET", "/v1/assets/{asset_id}/similar"): {},
    ("GET", "/v1/assets/{asset_id}/duplicates"): {},
    ("POST", "/v1/assets/{asset_id}/references"): {
        "json": {"resource_type": "story", "resource_id": "s", "usage_type": "cover"}
    },
    ("GET", "/v1/assets/{asset_id}/references"): {},
    ("GET", "/v1/assets/{asset_id}/references/{reference_id}"): {},
    ("DELETE", "/v1/assets/{asset_id}/references/{reference_id}"): {},
    ("GET", "/v1/assets/{asset_id}/lineage"): {},
    ("GET", "/v1/assets/{asset_id}/versions"): {},
    ("POST", "/v1/assets/{asset_id}/versions"): FILE,
    ("GET", "/v1/assets/{asset_id}/versions/diff"): {"params": {"from": 1, "to": 1}},
    ("GET", "/v1/assets/{asset_id}/versions/{number}"): {},
    ("GET", "/v1/assets/{asset_id}/versions/{number}/content"): {},
    ("POST", "/v1/assets/{asset_id}/versions/{number}/rollback"): {},
    ("DELETE", "/v1/assets/{asset_id}/versions/{number}"): {},
    ("POST", "/v1/trash/{asset_id}/restore"): {},
    ("DELETE", "/v1/trash/{asset_id}"): {},
    ("POST", "/v1/assets/{asset_id}/signed-url"): {"json": {"expires_in": 60}},
}


def asset_routes(container: Container) -> set[tuple[str, str]]:
    routes: set[tuple[str, str]] = set()
    for route in iter_route_contexts(create_app(container).routes):
        path = getattr(route, "path", "")
        if "{asset_id}" in path and not path.startswith("/v1/collections/"):
            routes.update((method, path) for method in route.methods or ())
    return routes


def test_every_asset_route_has_a_row(live: Live) -> None:
    assert asset_routes(live[1]) == set(CALLS)


@pytest.fixture(scope="module")
def victim(api: Api) -> str:
    response = api.upload("victim.png", png((200, 10, 10), pattern=3))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.mark.parametrize(("method", "path"), sorted(CALLS))
def test_another_workspace_gets_what_a_missing_id_gets(
    method: str, path: str, api: Api, other: Api, victim: str
) -> None:
    def call(asset_id: str) -> Any:
        url = path.format(asset_id=asset_id, reference_id=REF, number=1)
        return other.http.request(method, url, **CALLS[(method, path)])

    foreign, missing = call(victim), call("f" * 32)
    assert foreign.status_code == 404, foreign.text
    assert missing.status_code == 404, missing.text
    assert foreign.headers["content-type"] == "application/problem+json"
    assert foreign.json()["detail"] == missing.json()["detail"]
    # and the owner's asset is untouched by the attempt
    owned = api.http.get(f"/v1/assets/{victim}").json()
    assert owned["status"] != "deleted" and owned["tags"] == [] and owned["version"] == 1
