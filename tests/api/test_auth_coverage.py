"""Every /v1 route is authenticated and scope-checked: a new route without auth fails here."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts

from api.app import create_app
from api.deps import get_caller, require_session
from assetlens.access import Scope
from assetlens.bootstrap import Container

Live = tuple[str, Container]
PUBLIC = {
    ("GET", "/v1/health"),
    ("GET", "/v1/ready"),
    ("POST", "/v1/session"),
    # A signed link: the signature is the credential (api/routes/links.py).
    ("GET", "/v1/signed/{token}"),
}
# POSTs that only read (a query in the body), here and in other routers (collections).
SEARCHES = re.compile(r"/search(/by-image)?$")
# Other POSTs that change nothing, with the reason a read key may call them.
READ_ONLY_POSTS = {
    "/v1/assets/{asset_id}/signed-url": "signs a read of what the key can already read",
}
AUTH_DEPENDENCIES: set[Callable[..., Any]] = {get_caller, require_session}


def v1_routes(container: Container) -> Iterator[tuple[str, str, Dependant]]:
    """(method, path, dependant) of every /v1 API route, included routers flattened."""
    for route in iter_route_contexts(create_app(container).routes):
        dependant = getattr(route, "dependant", None)
        if isinstance(dependant, Dependant) and route.path and route.path.startswith("/v1/"):
            for method in sorted(route.methods or ()):
                yield method, route.path, dependant


def calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from calls(dependency)


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "0" * 32, path)


def test_every_v1_route_but_the_public_ones_requires_auth(live: Live) -> None:
    routes = list(v1_routes(live[1]))
    assert len(routes) > 10
    missing = [
        f"{method} {path}"
        for method, path, dependant in routes
        if (method, path) not in PUBLIC and not AUTH_DEPENDENCIES & set(calls(dependant))
    ]
    assert missing == []


def test_every_protected_route_answers_401_without_credentials(live: Live) -> None:
    checked = 0
    with httpx.Client(base_url=live[0], timeout=60) as http:
        for method, path, _ in v1_routes(live[1]):
            if (method, path) in PUBLIC:
                continue
            response = http.request(method, concrete(path))
            assert response.status_code == 401, f"{method} {path}"
            assert response.headers["content-type"] == "application/problem+json"
            checked += 1
    assert checked > 10


def test_every_write_route_refuses_a_read_only_key(live: Live) -> None:
    key = live[1].keys.create("alpha", "reader", frozenset({Scope.READ}))
    headers = {"Authorization": f"Bearer {key}"}
    checked = []
    with httpx.Client(base_url=live[0], timeout=60, headers=headers) as http:
        for method, path, _ in v1_routes(live[1]):
            if (
                method == "GET"
                or (method, path) in PUBLIC
                or path == "/v1/session"
                or SEARCHES.search(path)
                or path in READ_ONLY_POSTS
            ):
                continue
            response = http.request(method, concrete(path), json={})
            assert response.status_code == 403, f"{method} {path}: {response.text}"
            checked.append(f"{method} {path}")
    assert {"POST /v1/assets", "PATCH /v1/assets/{asset_id}", "POST /v1/keys"} <= set(checked)
