"""The authorisation matrix: every route × every kind of caller, with the status each cell
must answer (issue 11, item 2).

The rows are keyed by (method, path template) and checked against the app's route table: a
new route without a row, or a row for a route that is gone, fails
`test_every_route_has_exactly_one_row`. Each row names what the route needs (read, write or
admin), what the owner gets, what another workspace gets, and the collection roles' cells
where the route concerns a shared collection; the other callers follow from that
(`expected`). One fixture world per backend (module scope) holds the objects the requests
point at; a cell that succeeds on a route that changes its target gets objects of its own
(`World.renewed`), so no cell depends on the order of the others.

Every answer is also checked for leaks: a caller outside the owner's workspace never sees
the owner's private names (MARK), whatever the status, and nothing answers 5xx.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from api.app import create_app
from api.browser import COOKIE_NAME
from assetlens.access import Scope
from assetlens.bootstrap import Container
from tests.api.conftest import png

Live = tuple[str, Container]
# In every private name of the owner's: seen by anyone outside the workspace, it is a leak.
MARK = "zqxprivate"
OWNER, GRANTEE_VIEW, GRANTEE_EDIT, OTHER = "alpha", "gamma", "delta", "beta"
# The callers, in the order their cells run: the ones that may change things come last.
CALLERS = (
    "anonymous",
    "revoked",
    "signed",
    "other",
    "viewer",
    "editor",
    "reader",
    "writer",
    "owner",
    "session",
)
INSIDE = frozenset({"owner", "writer", "reader", "session"})


def unique() -> str:
    """A name no other world uses (folder names are unique per parent)."""
    return uuid.uuid4().hex[:12]


# -- the expected answers ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One route: the cells' statuses, the request each cell sends, and whether a cell that
    succeeds changes its target (then it gets a target of its own)."""

    cells: dict[str, int]
    request: Callable[[World, str], Request]
    changes: bool = False
    # Objects of the first world that a success here changes workspace-wide (emptying the
    # trash): they are made again when next needed.
    spoils: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Request:
    params: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


def expected(need: Scope, ok: int, *, foreign: int = 404, **cells: int) -> dict[str, int]:
    """Every caller's status for a route that needs `need` and answers `ok` to its owner;
    `foreign` is another workspace's answer (and, unless `cells` say otherwise, a
    collection grantee's: a share grants nothing outside its collection)."""
    full = {
        "owner": ok,
        # The owner's key signed in from a browser: cookie and CSRF token, same rights.
        "session": ok,
        "writer": 403 if need is Scope.ADMIN else ok,
        "reader": ok if need is Scope.READ else 403,
        "other": foreign,
        "viewer": foreign,
        "editor": foreign,
        # No credential, a revoked key, a signed link's token used as a key: not a caller.
        "anonymous": 401,
        "revoked": 401,
        "signed": 401,
    }
    full.update(cells)
    return full


def read(ok: int = 200, **cells: int) -> dict[str, int]:
    return expected(Scope.READ, ok, **cells)


def write(ok: int = 200, **cells: int) -> dict[str, int]:
    return expected(Scope.WRITE, ok, **cells)


def admin(ok: int = 200, **cells: int) -> dict[str, int]:
    return expected(Scope.ADMIN, ok, **cells)


def shared_read(ok: int = 200) -> dict[str, int]:
    """A read through a shared collection: both roles may."""
    return read(ok, viewer=ok, editor=ok)


def shared_edit(ok: int = 200) -> dict[str, int]:
    """An edit of a shared collection's items or tags: editors may, viewers get 403."""
    return write(ok, viewer=403, editor=ok)


def owner_only(ok: int = 200) -> dict[str, int]:
    """Renaming, deleting or sharing a collection: the owner's alone (grantees get 403)."""
    return write(ok, viewer=403, editor=403)


def public(ok: int) -> dict[str, int]:
    return dict.fromkeys(CALLERS, ok)


def sign_in(world: World, caller: str) -> Request:
    """POST /v1/session carries the credential in its body: each caller signs in with its own
    (a browser signing in again sends the owner's key)."""
    key = world.credential("owner" if caller == "session" else caller)
    return Request(options={"json": {"api_key": key or "alk_none"}})


def nothing(world: World, caller: str) -> Request:
    return Request()


def on_asset(**options: Any) -> Callable[[World, str], Request]:
    return lambda w, c: Request({"asset_id": w.asset}, options)


def on_version(**options: Any) -> Callable[[World, str], Request]:
    return lambda w, c: Request({"asset_id": w.asset, "number": "1"}, options)


def on_collection(**options: Any) -> Callable[[World, str], Request]:
    return lambda w, c: Request({"collection_id": w.collection}, options)


def on_member(**options: Any) -> Callable[[World, str], Request]:
    return lambda w, c: Request({"collection_id": w.collection, "asset_id": w.asset}, options)


FILE = {"files": {"file": ("v.png", png((9, 9, 9), pattern=5))}}
# No text: everything the caller may see comes back, so a leak would show.
SEARCH = {"json": {"q": ""}}
IMAGE = {"files": {"file": ("q.png", png((1, 2, 3)))}}

ROWS: dict[tuple[str, str], Row] = {
    # system and browser sessions (a Bearer key is no session: those answer 401 to all)
    ("GET", "/v1/health"): Row(public(200), nothing),
    ("GET", "/v1/ready"): Row(public(200), nothing),
    # Signing in again ends the session the browser sent: the session caller gets its own.
    ("POST", "/v1/session"): Row(
        public(200) | {"anonymous": 401, "revoked": 401, "signed": 401}, sign_in, changes=True
    ),
    ("GET", "/v1/session"): Row(public(401) | {"session": 200}, nothing),
    ("DELETE", "/v1/session"): Row(public(401) | {"session": 204}, nothing, changes=True),
    # keys: admin only; another workspace's key id is missing
    ("GET", "/v1/keys"): Row(admin(200, foreign=200), nothing),
    ("POST", "/v1/keys"): Row(
        admin(201, foreign=201), lambda w, c: Request(options={"json": {"scopes": ["read"]}})
    ),
    ("DELETE", "/v1/keys/{key_id}"): Row(
        admin(204), lambda w, c: Request({"key_id": w.spare_key}), changes=True
    ),
    ("GET", "/v1/stats"): Row(read(200, foreign=200), nothing),
    ("GET", "/v1/settings/duplicates"): Row(read(200, foreign=200), nothing),
    ("PUT", "/v1/settings/duplicates"): Row(
        admin(200, foreign=200), lambda w, c: Request(options={"json": {"policy": "allow"}})
    ),
    # assets
    ("GET", "/v1/assets"): Row(read(200, foreign=200), nothing),
    ("POST", "/v1/assets"): Row(
        write(201, foreign=201),
        lambda w, c: Request(
            options={"params": {"wait": "false"}, "files": {"file": ("n.png", png((7, 7, 7)))}}
        ),
    ),
    # The SSRF guard answers the owner: authorisation passed, the private target refused.
    ("POST", "/v1/assets/from-url"): Row(
        write(422, foreign=422),
        lambda w, c: Request(options={"json": {"url": "http://127.0.0.1:9/x.png"}}),
    ),
    ("POST", "/v1/assets/bulk"): Row(
        write(200, foreign=200),
        lambda w, c: Request(options={"json": {"action": "favorite", "ids": [w.asset]}}),
    ),
    ("GET", "/v1/assets/{asset_id}"): Row(read(), on_asset()),
    ("PATCH", "/v1/assets/{asset_id}"): Row(write(), on_asset(json={"description": "d"})),
    ("DELETE", "/v1/assets/{asset_id}"): Row(write(), on_asset(), changes=True),
    ("POST", "/v1/assets/{asset_id}/restore"): Row(
        write(), lambda w, c: Request({"asset_id": w.trashed}), changes=True
    ),
    ("GET", "/v1/assets/{asset_id}/content"): Row(read(), on_asset()),
    ("GET", "/v1/assets/{asset_id}/thumbnail"): Row(read(), on_asset()),
    ("GET", "/v1/assets/{asset_id}/similar"): Row(read(), on_asset()),
    ("GET", "/v1/assets/{asset_id}/duplicates"): Row(read(), on_asset()),
    ("GET", "/v1/assets/{asset_id}/lineage"): Row(read(), on_asset()),
    ("POST", "/v1/assets/{asset_id}/signed-url"): Row(read(), on_asset(json={"expires_in": 60})),
    ("GET", "/v1/signed/{token}"): Row(public(200), lambda w, c: Request({"token": w.token})),
    # references
    # Each caller records a use of its own: the same one twice is a 409.
    ("POST", "/v1/assets/{asset_id}/references"): Row(
        write(201),
        lambda w, c: Request(
            {"asset_id": w.asset},
            {"json": {"resource_type": "story", "resource_id": c, "usage_type": "cover"}},
        ),
    ),
    ("GET", "/v1/assets/{asset_id}/references"): Row(read(), on_asset()),
    ("GET", "/v1/assets/{asset_id}/references/{reference_id}"): Row(
        read(), lambda w, c: Request({"asset_id": w.asset, "reference_id": w.reference})
    ),
    ("DELETE", "/v1/assets/{asset_id}/references/{reference_id}"): Row(
        write(204),
        lambda w, c: Request({"asset_id": w.asset, "reference_id": w.reference}),
        changes=True,
    ),
    # versions
    ("GET", "/v1/assets/{asset_id}/versions"): Row(read(), on_asset()),
    ("POST", "/v1/assets/{asset_id}/versions"): Row(write(201), on_asset(**FILE), changes=True),
    ("GET", "/v1/assets/{asset_id}/versions/diff"): Row(
        read(), on_asset(params={"from": 1, "to": 1})
    ),
    ("GET", "/v1/assets/{asset_id}/versions/{number}"): Row(read(), on_version()),
    ("GET", "/v1/assets/{asset_id}/versions/{number}/content"): Row(read(), on_version()),
    ("POST", "/v1/assets/{asset_id}/versions/{number}/rollback"): Row(
        write(201), lambda w, c: Request({"asset_id": w.versioned, "number": "1"}), changes=True
    ),
    ("DELETE", "/v1/assets/{asset_id}/versions/{number}"): Row(
        write(204), lambda w, c: Request({"asset_id": w.versioned, "number": "1"}), changes=True
    ),
    # trash
    ("GET", "/v1/trash"): Row(read(200, foreign=200), nothing),
    ("POST", "/v1/trash/{asset_id}/restore"): Row(
        write(), lambda w, c: Request({"asset_id": w.trashed}), changes=True
    ),
    ("DELETE", "/v1/trash/{asset_id}"): Row(
        write(204), lambda w, c: Request({"asset_id": w.trashed}), changes=True
    ),
    ("DELETE", "/v1/trash"): Row(write(200, foreign=200), nothing, spoils=("trashed",)),
    # search
    ("POST", "/v1/search"): Row(read(200, foreign=200), lambda w, c: Request(options=SEARCH)),
    ("POST", "/v1/search/by-image"): Row(
        read(200, foreign=200), lambda w, c: Request(options=IMAGE)
    ),
    # folders and tags
    ("GET", "/v1/folders"): Row(read(200, foreign=200), nothing),
    ("POST", "/v1/folders"): Row(
        write(201, foreign=201), lambda w, c: Request(options={"json": {"name": f"new {c}"}})
    ),
    ("GET", "/v1/folders/{folder_id}"): Row(read(), lambda w, c: Request({"folder_id": w.folder})),
    ("PATCH", "/v1/folders/{folder_id}"): Row(
        write(), lambda w, c: Request({"folder_id": w.folder}, {"json": {"name": f"{MARK} {c}"}})
    ),
    ("DELETE", "/v1/folders/{folder_id}"): Row(
        write(), lambda w, c: Request({"folder_id": w.spare_folder}), changes=True
    ),
    ("GET", "/v1/folders/{folder_id}/contents"): Row(
        read(), lambda w, c: Request({"folder_id": w.folder})
    ),
    ("GET", "/v1/tags"): Row(read(200, foreign=200), nothing),
    # Another workspace has no asset with the owner's tag: 404, as for a tag nobody has.
    ("PATCH", "/v1/tags/{name}"): Row(
        write(),
        lambda w, c: Request({"name": w.tag}, {"json": {"name": f"{MARK}-renamed"}}),
        changes=True,
    ),
    ("DELETE", "/v1/tags/{name}"): Row(
        write(), lambda w, c: Request({"name": w.tag}), changes=True
    ),
    # collections: see docs/API.md "Collections and sharing"
    ("GET", "/v1/collections"): Row(read(200, foreign=200), nothing),
    ("POST", "/v1/collections"): Row(
        write(201, foreign=201), lambda w, c: Request(options={"json": {"name": f"made by {c}"}})
    ),
    ("GET", "/v1/collections/{collection_id}"): Row(shared_read(), on_collection()),
    ("PATCH", "/v1/collections/{collection_id}"): Row(
        owner_only(), on_collection(json={"description": "d"})
    ),
    ("DELETE", "/v1/collections/{collection_id}"): Row(
        owner_only(204), on_collection(), changes=True
    ),
    ("GET", "/v1/collections/{collection_id}/items"): Row(shared_read(), on_collection()),
    ("POST", "/v1/collections/{collection_id}/items"): Row(
        shared_edit(),
        lambda w, c: Request({"collection_id": w.collection}, {"json": {"asset_ids": [w.asset]}}),
    ),
    ("PUT", "/v1/collections/{collection_id}/items/order"): Row(
        shared_edit(),
        lambda w, c: Request({"collection_id": w.collection}, {"json": {"asset_ids": [w.asset]}}),
    ),
    ("DELETE", "/v1/collections/{collection_id}/items/{asset_id}"): Row(
        shared_edit(204), on_member(), changes=True
    ),
    ("PUT", "/v1/collections/{collection_id}/shares/{grantee}"): Row(
        owner_only(),
        lambda w, c: Request(
            {"collection_id": w.collection, "grantee": GRANTEE_VIEW}, {"json": {"role": "view"}}
        ),
    ),
    ("DELETE", "/v1/collections/{collection_id}/shares/{grantee}"): Row(
        owner_only(204),
        lambda w, c: Request({"collection_id": w.collection, "grantee": GRANTEE_VIEW}),
        changes=True,
    ),
    ("GET", "/v1/collections/{collection_id}/assets/{asset_id}"): Row(shared_read(), on_member()),
    ("GET", "/v1/collections/{collection_id}/assets/{asset_id}/content"): Row(
        shared_read(), on_member()
    ),
    ("GET", "/v1/collections/{collection_id}/assets/{asset_id}/thumbnail"): Row(
        shared_read(), on_member()
    ),
    ("PATCH", "/v1/collections/{collection_id}/assets/{asset_id}/tags"): Row(
        shared_edit(), on_member(json={"tags": ["shared"]})
    ),
    ("POST", "/v1/collections/{collection_id}/search"): Row(shared_read(), on_collection(**SEARCH)),
}


# -- the world the requests point at --------------------------------------------------------


class World:
    """The callers' credentials and the owner's objects, each made on first use.

    `renewed()` is a world with the same callers and new objects: what a cell that changes
    its target works on.
    """

    def __init__(
        self, base_url: str, container: Container, credentials: dict[str, str | None]
    ) -> None:
        self.base_url = base_url
        self.container = container
        self.credentials = credentials
        self.owner = httpx.Client(base_url=base_url, timeout=60, headers=self._auth("owner"))
        self.renewal = False

    def renewed(self) -> World:
        world = World(self.base_url, self.container, self.credentials)
        world.renewal = True
        return world

    def close(self) -> None:
        self.owner.close()

    def forget(self, *names: str) -> None:
        """Drop these objects: the next use makes new ones."""
        for name in names:
            self.__dict__.pop(name, None)

    def credential(self, caller: str) -> str | None:
        if caller == "signed":
            return self.token
        return self.credentials[caller]

    def _auth(self, caller: str) -> dict[str, str]:
        credential = self.credential(caller)
        return {"Authorization": f"Bearer {credential}"} if credential else {}

    def headers(self, caller: str) -> dict[str, str]:
        if caller == "session":
            cookie, csrf = self.session
            return {"Cookie": f"{COOKIE_NAME}={cookie}", "X-CSRF-Token": csrf}
        return self._auth(caller)

    @cached_property
    def session(self) -> tuple[str, str]:
        """A browser session of the owner's key: (cookie, CSRF token)."""
        with httpx.Client(base_url=self.base_url, timeout=60) as browser:
            response = browser.post("/v1/session", json={"api_key": self.credential("owner")})
        body = self._ok(response)
        return response.cookies[COOKIE_NAME], str(body["csrf_token"])

    def _ok(self, response: httpx.Response) -> Any:
        assert response.is_success, response.text
        return response.json() if response.content else None

    def _upload(
        self, name: str, colour: tuple[int, int, int], *, wait: bool = False, **fields: str
    ) -> str:
        # Waiting for the indexer only where a row needs the index (tags) or the analysis
        # (thumbnails, similar): the first world's asset, and the tagged one.
        wait = wait or not self.renewal
        body = self._ok(
            self.owner.post(
                "/v1/assets",
                params={"wait": str(wait).lower()},
                data=fields,
                files={"file": (name, png(colour, pattern=sum(colour) % 50 + 1))},
            )
        )
        return str(body["id"])

    @cached_property
    def private_asset(self) -> str:
        """An asset in no collection, with private names: lists and searches of anyone
        outside the workspace must not show it."""
        return self._upload(
            f"{MARK}.png",
            (10, 200, 30),
            tags=f"{MARK}tag",
            folder_id=self.folder,
            description=f"{MARK} description",
        )

    @cached_property
    def private_collection(self) -> str:
        """A collection shared with nobody: no one outside the workspace may list it."""
        body = self._ok(self.owner.post("/v1/collections", json={"name": f"{MARK} drafts"}))
        return str(body["id"])

    @cached_property
    def asset(self) -> str:
        """The asset most rows point at: an item of the shared collection."""
        return self._upload("member.png", (30, 40, 220))

    @cached_property
    def trashed(self) -> str:
        asset = self._upload(f"{MARK}-trashed.png", (90, 10, 10))
        self._ok(self.owner.delete(f"/v1/assets/{asset}"))
        return asset

    @cached_property
    def versioned(self) -> str:
        asset = self._upload("versioned.png", (10, 90, 10))
        self._ok(
            self.owner.post(
                f"/v1/assets/{asset}/versions",
                files={"file": ("v2.png", png((11, 91, 11), pattern=2))},
            )
        )
        return asset

    @cached_property
    def reference(self) -> str:
        body = self._ok(
            self.owner.post(
                f"/v1/assets/{self.asset}/references",
                json={"resource_type": "page", "resource_id": "p1", "usage_type": "cover"},
            )
        )
        return str(body["id"])

    @cached_property
    def folder(self) -> str:
        body = self._ok(self.owner.post("/v1/folders", json={"name": f"{MARK} {unique()}"}))
        return str(body["id"])

    @cached_property
    def spare_folder(self) -> str:
        return str(self._ok(self.owner.post("/v1/folders", json={"name": unique()}))["id"])

    @cached_property
    def tag(self) -> str:
        tag = f"{MARK}t{unique()}"
        self._upload("tagged.png", (60, 60, 160), wait=True, tags=tag)
        return tag

    @cached_property
    def spare_key(self) -> str:
        return self.container.keys.issue(OWNER, "spare", frozenset({Scope.READ})).info.id

    @cached_property
    def collection(self) -> str:
        """Shared with GRANTEE_VIEW as `view` and GRANTEE_EDIT as `edit`; holds `asset`."""
        cid = str(self._ok(self.owner.post("/v1/collections", json={"name": "lent"}))["id"])
        self._ok(self.owner.post(f"/v1/collections/{cid}/items", json={"asset_ids": [self.asset]}))
        for grantee, role in ((GRANTEE_VIEW, "view"), (GRANTEE_EDIT, "edit")):
            self._ok(self.owner.put(f"/v1/collections/{cid}/shares/{grantee}", json={"role": role}))
        return cid

    @cached_property
    def token(self) -> str:
        body = self._ok(
            self.owner.post(f"/v1/assets/{self.asset}/signed-url", json={"expires_in": 3600})
        )
        return str(body["url"]).rsplit("/", 1)[-1]


@pytest.fixture(scope="module")
def world(live: Live) -> Iterator[World]:
    base_url, container = live
    keys = container.keys
    revoked = keys.issue(OWNER, "revoked")
    keys.revoke(OWNER, revoked.info.id)
    credentials: dict[str, str | None] = {
        "owner": keys.create(OWNER, f"{MARK} owner"),
        "writer": keys.create(OWNER, "writer", frozenset({Scope.WRITE})),
        "reader": keys.create(OWNER, "reader", frozenset({Scope.READ})),
        "other": keys.create(OTHER, "other"),
        "viewer": keys.create(GRANTEE_VIEW, "viewer"),
        "editor": keys.create(GRANTEE_EDIT, "editor"),
        "anonymous": None,
        "revoked": revoked.key,
    }
    made = World(base_url, container, credentials)
    # Made first, so that every list and search has something private to leak.
    made.private_asset  # noqa: B018
    made.private_collection  # noqa: B018
    made.trashed  # noqa: B018
    yield made
    made.close()


# -- the tests --------------------------------------------------------------------------------


def app_routes(container: Container) -> set[tuple[str, str]]:
    """(method, path) of every /v1 route, path converters (`{name:path}`) dropped."""
    routes: set[tuple[str, str]] = set()
    for route in iter_route_contexts(create_app(container).routes):
        path = getattr(route, "path", "")
        if path.startswith("/v1/"):
            template = re.sub(r"\{(\w+):\w+\}", r"{\1}", path)
            routes.update((method, template) for method in route.methods or ())
    return routes


def test_every_route_has_exactly_one_row(live: Live) -> None:
    routes = app_routes(live[1])
    assert sorted(routes - set(ROWS)) == [], "routes without a row"
    assert sorted(set(ROWS) - routes) == [], "rows for routes that are gone"


def test_every_row_has_every_caller() -> None:
    assert [key for key, row in ROWS.items() if set(row.cells) != set(CALLERS)] == []


@pytest.mark.parametrize(("method", "path"), sorted(ROWS))
def test_cell(method: str, path: str, world: World) -> None:
    """Every caller on one route gets the row's status, and nothing it should not see."""
    row = ROWS[(method, path)]
    wrong = []
    with httpx.Client(base_url=world.base_url, timeout=60) as http:
        for caller in CALLERS:
            want = row.cells[caller]
            target = world.renewed() if row.changes and want < 300 else world
            request = row.request(target, caller)
            url = path.format_map(request.params)
            response = http.request(method, url, headers=target.headers(caller), **request.options)
            http.cookies.clear()  # a sign-in's cookie must not speak for the next caller
            # A private name the caller sent itself may come back: only others' are leaks.
            echoed = MARK in url or MARK in repr(request.options)
            if response.status_code != want:
                wrong.append(
                    f"{caller}: {response.status_code} (want {want}) {response.text[:200]}"
                )
            elif caller not in INSIDE and not echoed and MARK in response.text:
                wrong.append(f"{caller}: {response.status_code} shows the owner's names")
            if target is not world:
                target.close()
            if response.is_success:
                world.forget(*row.spoils)
    assert not wrong, "\n".join([f"{method} {path}", *wrong])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/assets"),
        ("GET", "/v1/tags"),
        ("GET", "/v1/folders"),
        ("GET", "/v1/collections"),
        ("GET", "/v1/trash"),
        ("GET", "/v1/keys"),
        ("POST", "/v1/search"),
    ],
)
def test_the_owner_sees_the_private_names_the_others_must_not(
    method: str, path: str, world: World
) -> None:
    """The leak check has something to find: each list shows the owner its private names."""
    request = ROWS[(method, path)].request(world, "owner")
    world.trashed  # noqa: B018 - (again) after the matrix emptied the trash
    response = world.owner.request(method, path, **request.options)
    assert response.status_code == 200, response.text
    assert MARK in response.text
