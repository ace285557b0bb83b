"""The served OpenAPI document against the running API, on both backends: a client generated
from `/openapi.json` by a standard generator makes real calls with real types, and real
responses (successes and errors) are documented and match their documented schemas."""

from __future__ import annotations

import hashlib
import importlib
import io
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.specs.openapi.schemas import OpenApiSchema

from api.app import create_app
from assetlens.bootstrap import Container, build
from tests.api.conftest import png
from tests.conftest import Api, make_settings
from tests.fakes import FakeEmbedder, FakeObjectStore
from tests.support import openapi_client
from tests.support.server import running

# -- a generated client ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def document(live: tuple[str, Container]) -> dict[str, Any]:
    served: dict[str, Any] = httpx.get(f"{live[0]}/openapi.json", timeout=60).json()
    return served


@pytest.fixture(scope="session")
def generated_clients() -> dict[str, ModuleType]:
    """Generated packages by the SHA-256 of their document: both backends serve the same
    one, and generating costs seconds of CI time."""
    return {}


@pytest.fixture(scope="module")
def generated(
    live: tuple[str, Container],
    tmp_path_factory: pytest.TempPathFactory,
    generated_clients: dict[str, ModuleType],
) -> ModuleType:
    """The client package generated from this server's `/openapi.json`."""
    raw = httpx.get(f"{live[0]}/openapi.json", timeout=60).content
    digest = hashlib.sha256(raw).hexdigest()
    if digest not in generated_clients:
        generated_clients[digest] = openapi_client.generate(
            raw, Path(tmp_path_factory.mktemp("client")), f"assetlens_client_{digest[:8]}"
        )
    return generated_clients[digest]


class Generated:
    """The generated package's modules, by the names its documentation uses."""

    def __init__(self, package: ModuleType) -> None:
        name = package.__name__
        self.package = package

        def load(module: str) -> Any:
            return importlib.import_module(f"{name}.{module}")

        self.models = load("models")
        self.types = load("types")
        self.assets_upload = load("api.assets.assets_upload")
        self.assets_get = load("api.assets.assets_get")
        self.assets_update = load("api.assets.assets_update")
        self.assets_list = load("api.assets.assets_list")
        self.assets_content = load("api.assets.assets_content")
        self.assets_thumbnail = load("api.assets.assets_thumbnail")
        self.search = load("api.search.search")
        self.search_by_image = load("api.search.search_by_image")
        self.versions_create = load("api.versions.versions_create")
        self.health = load("api.system.health")


@pytest.fixture(scope="module")
def client(generated: ModuleType, api: Api) -> Iterator[tuple[Generated, Any]]:
    """The generated modules and an authenticated client on this backend's server; an
    undocumented status raises (`raise_on_unexpected_status`)."""
    authenticated = generated.AuthenticatedClient(
        base_url=api.base_url,
        token=api.key,
        raise_on_unexpected_status=True,
        timeout=httpx.Timeout(60),
    )
    with authenticated as open_client:
        yield Generated(generated), open_client


def test_generated_client_uploads_reads_edits_and_downloads(client: tuple[Generated, Any]) -> None:
    gen, http = client
    data = png((200, 30, 40), pattern=3)
    tag = f"oa{uuid.uuid4().hex[:8]}"
    body = gen.models.AssetsUploadBody(
        file=gen.types.File(payload=io.BytesIO(data), file_name="red.png", mime_type="image/png"),
        name="generated",
        tags=[tag, "openapi, generated"],
    )
    created = gen.assets_upload.sync_detailed(client=http, body=body, wait=True)
    assert created.status_code == 201
    asset = created.parsed
    assert isinstance(asset, gen.models.AssetOut)
    assert isinstance(asset.id, str)
    assert asset.tags == [tag, "openapi, generated"]  # one tag per field: commas stay
    assert asset.type_ == gen.models.AssetType.IMAGE

    got = gen.assets_get.sync_detailed(asset.id, client=http)
    assert got.parsed.name == "generated"
    etag = got.headers["etag"]

    patched = gen.assets_update.sync_detailed(
        asset.id,
        client=http,
        body=gen.models.AssetPatch(description="via the client"),
        if_match=etag,
    )
    assert patched.status_code == 200
    assert patched.parsed.description == "via the client"
    stale = gen.assets_update.sync_detailed(
        asset.id, client=http, body=gen.models.AssetPatch(description="lost"), if_match=etag
    )
    assert stale.status_code == 412
    assert isinstance(stale.parsed, gen.models.Problem)
    assert stale.parsed.status == 412

    content = gen.assets_content.sync_detailed(asset.id, client=http)
    assert content.status_code == 200
    assert content.parsed.payload.read() == data
    part = gen.assets_content.sync_detailed(asset.id, client=http, range_="bytes=0-7")
    assert part.status_code == 206
    assert part.parsed.payload.read() == data[:8]
    unchanged = gen.assets_content.sync_detailed(
        asset.id, client=http, if_none_match=content.headers["etag"]
    )
    assert unchanged.status_code == 304

    # A preview is made by the worker, maybe not yet: either answer is documented and parsed.
    preview = gen.assets_thumbnail.sync_detailed(asset.id, client=http, size="small")
    if preview.status_code == 200:
        assert preview.parsed.payload.read()[8:12] == b"WEBP"
    else:
        assert isinstance(preview.parsed, gen.models.Problem)
        assert preview.parsed.status == 404


def test_generated_client_searches_with_facets(client: tuple[Generated, Any]) -> None:
    gen, http = client
    tag = f"oa{uuid.uuid4().hex[:8]}"
    upload = gen.models.AssetsUploadBody(
        file=gen.types.File(
            payload=io.BytesIO(png((20, 160, 40), pattern=5)),
            file_name="green.png",
            mime_type="image/png",
        ),
        tags=[tag],
    )
    created = gen.assets_upload.sync(client=http, body=upload, wait=True)

    page = gen.search.sync(
        client=http,
        body=gen.models.SearchRequest(
            filters=gen.models.Filters(tags=[tag]),
            facets=[gen.models.Facet.TAGS, gen.models.Facet.TYPE],
        ),
    )
    assert isinstance(page, gen.models.SearchPageOut)
    assert page.total == 1
    assert isinstance(page.items[0].asset.id, str)
    assert page.items[0].asset.id == created.id
    buckets = page.facets.additional_properties
    assert isinstance(buckets["tags"][0], gen.models.FacetBucket)
    assert {b.value: b.count for b in buckets["type"]} == {"image": 1}


def test_generated_client_sends_the_other_multipart_bodies(client: tuple[Generated, Any]) -> None:
    """By-image and new-version uploads: their bodies exist only through `openapi_extra`."""
    gen, http = client
    tag = f"oa{uuid.uuid4().hex[:8]}"

    def image(colour: tuple[int, int, int], name: str) -> Any:
        return gen.types.File(payload=io.BytesIO(png(colour, pattern=9)), file_name=name)

    asset = gen.assets_upload.sync(
        client=http,
        wait=True,
        body=gen.models.AssetsUploadBody(file=image((90, 90, 200), "v1.png"), tags=[tag]),
    )
    version = gen.versions_create.sync(
        asset.id,
        client=http,
        wait=True,
        body=gen.models.VersionsCreateBody(
            file=image((90, 200, 90), "v2.png"), change_description="greener"
        ),
    )
    assert isinstance(version, gen.models.NewVersionOut)
    assert version.asset.version == 2
    assert version.version.change_description == "greener"

    hits = gen.search_by_image.sync(
        client=http,
        limit=5,
        body=gen.models.SearchByImageBody(
            file=image((90, 200, 90), "query.png"), filters=f'{{"tags": ["{tag}"]}}'
        ),
    )
    assert isinstance(hits, gen.models.HitsOut)
    assert [hit.asset.id for hit in hits.items] == [asset.id]


def test_generated_client_parses_problems(client: tuple[Generated, Any]) -> None:
    gen, http = client
    missing = gen.assets_get.sync_detailed("0" * 26, client=http)
    assert missing.status_code == 404
    assert isinstance(missing.parsed, gen.models.Problem)
    assert missing.parsed.status == 404
    assert missing.parsed.type_.endswith("/notfound")

    refused = gen.assets_list.sync_detailed(client=http, limit=0)
    assert refused.status_code == 422
    assert isinstance(refused.parsed, gen.models.ValidationProblem)
    assert refused.parsed.errors[0].loc == ["query", "limit"]


def test_generated_client_calls_public_operations_without_a_key(
    generated: ModuleType, api: Api
) -> None:
    gen = Generated(generated)
    with generated.Client(base_url=api.base_url, raise_on_unexpected_status=True) as anonymous:
        health = gen.health.sync(client=anonymous)
        assert isinstance(health, gen.models.HealthOut)
        assert health.status == "ok"


# -- real responses against the document ----------------------------------------------------


@pytest.fixture(scope="module")
def schema(document: dict[str, Any]) -> OpenApiSchema:
    return schemathesis.openapi.from_dict(document)


def conform(
    document: dict[str, Any], schema: OpenApiSchema, response: httpx.Response, path: str
) -> None:
    """`response` to a call of `path` (a path template of the document) has a documented
    status and media type, and its JSON body matches the documented schema."""
    method = response.request.method
    operation = document["paths"][path][method.lower()]
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, (method, path, response.status_code, response.text[:300])
    content = documented.get("content", {})
    media_type = response.headers.get("content-type", "").split(";")[0]
    if not content:
        assert not response.content, (method, path, response.status_code)
        return
    if media_type in content and media_type.endswith("json"):
        response.request.read()  # schemathesis reports the request too (multipart streams)
        schema[path][method].validate_response(response)
        return
    binary = [m for m, body in content.items() if body.get("schema", {}).get("format") == "binary"]
    assert binary, (method, path, response.status_code, media_type)


Call = Callable[[], httpx.Response]


def test_real_responses_match_the_document(
    api: Api, other: Api, document: dict[str, Any], schema: OpenApiSchema
) -> None:
    tag = f"oa{uuid.uuid4().hex[:8]}"
    created = api.upload("blue.png", png((30, 40, 200), pattern=7), tags=tag)
    asset = created.json()
    asset_path = f"/v1/assets/{asset['id']}"
    etag = created.headers["etag"]
    anonymous = httpx.Client(base_url=api.base_url, timeout=60)
    http = api.http
    calls: list[tuple[str, int, Call]] = [
        ("/v1/health", 200, lambda: anonymous.get("/v1/health")),
        ("/v1/ready", 200, lambda: anonymous.get("/v1/ready")),
        ("/v1/assets/{asset_id}", 200, lambda: http.get(asset_path)),
        (
            "/v1/assets/{asset_id}",
            200,
            lambda: http.patch(
                asset_path, json={"tags": [tag, "edited"]}, headers={"If-Match": etag}
            ),
        ),
        (
            "/v1/assets/{asset_id}",
            412,
            lambda: http.patch(asset_path, json={"name": "x"}, headers={"If-Match": etag}),
        ),
        ("/v1/assets/{asset_id}", 422, lambda: http.patch(asset_path, json={"tags": "x"})),
        ("/v1/assets/{asset_id}", 404, lambda: other.http.get(asset_path)),
        ("/v1/assets/{asset_id}", 401, lambda: anonymous.get(asset_path)),
        ("/v1/assets", 200, lambda: http.get("/v1/assets", params={"tags": tag})),
        ("/v1/assets", 422, lambda: http.get("/v1/assets", params={"limit": 0})),
        (
            "/v1/assets",
            422,
            lambda: http.post(
                "/v1/assets", data={"name": "no file"}, files={"other": ("a.txt", b"x")}
            ),
        ),
        ("/v1/assets", 415, lambda: api.upload("tool.exe", b"MZ\x00\x00")),
        (
            "/v1/search",
            200,
            lambda: api.search(filters={"tags": [tag]}, facets=["tags", "type", "created"]),
        ),
        ("/v1/search", 422, lambda: api.search(limit=1000, unknown=True)),
        ("/v1/assets/{asset_id}/content", 200, lambda: http.get(f"{asset_path}/content")),
        (
            "/v1/assets/{asset_id}/content",
            206,
            lambda: http.get(f"{asset_path}/content", headers={"Range": "bytes=0-9"}),
        ),
        (
            "/v1/assets/{asset_id}/content",
            304,
            lambda: http.get(
                f"{asset_path}/content", headers={"If-None-Match": f'"{asset["sha256"]}"'}
            ),
        ),
        (
            "/v1/assets/{asset_id}/content",
            416,
            lambda: http.get(f"{asset_path}/content", headers={"Range": "bytes=999999-"}),
        ),
        (
            "/v1/assets/{asset_id}/thumbnail",
            422,
            lambda: http.get(f"{asset_path}/thumbnail", params={"size": "huge"}),
        ),
        ("/v1/assets/{asset_id}/versions", 200, lambda: http.get(f"{asset_path}/versions")),
        (
            "/v1/assets/{asset_id}/versions/{number}",
            404,
            lambda: http.get(f"{asset_path}/versions/99"),
        ),
        ("/v1/assets/{asset_id}/duplicates", 200, lambda: http.get(f"{asset_path}/duplicates")),
        (
            "/v1/assets/{asset_id}/signed-url",
            200,
            lambda: http.post(f"{asset_path}/signed-url", json={"expires_in": 60}),
        ),
        ("/v1/signed/{token}", 403, lambda: anonymous.get("/v1/signed/not-a-token")),
        ("/v1/tags", 200, lambda: http.get("/v1/tags")),
        ("/v1/folders", 200, lambda: http.get("/v1/folders")),
        ("/v1/stats", 200, lambda: http.get("/v1/stats")),
        ("/v1/assets/{asset_id}", 200, lambda: http.delete(asset_path, params={"wait": "true"})),
        ("/v1/trash", 200, lambda: http.get("/v1/trash")),
        (
            "/v1/assets/{asset_id}/restore",
            200,
            lambda: http.post(f"{asset_path}/restore", params={"wait": "true"}),
        ),
    ]
    try:
        for path, expected, call in calls:
            response = call()
            assert response.status_code == expected, (path, response.text[:300])
            conform(document, schema, response, path)
        link = http.post(f"{asset_path}/signed-url", json={"expires_in": 60}).json()["url"]
        signed = anonymous.get(link)
        assert signed.status_code in (200, 307)  # 307: the store serves it (MinIO)
        conform(document, schema, signed, "/v1/signed/{token}")
        thumbnail = http.get(f"{asset_path}/thumbnail")
        if thumbnail.status_code == 200:  # previews are made by the worker, maybe not yet
            assert thumbnail.headers["content-type"] == "image/webp"
        conform(document, schema, thumbnail, "/v1/assets/{asset_id}/thumbnail")
    finally:
        anonymous.close()


def test_responses_of_the_other_resources_match_the_document(
    api: Api, document: dict[str, Any], schema: OpenApiSchema
) -> None:
    """Folders, collections, references, bulk, keys, sessions, versions and lineage."""
    http = api.http

    def check(path: str, expected: int, response: httpx.Response) -> httpx.Response:
        assert response.status_code == expected, (path, response.text[:300])
        conform(document, schema, response, path)
        return response

    asset = api.upload("grey.png", png((120, 120, 120), pattern=11)).json()
    asset_path = f"/v1/assets/{asset['id']}"
    folder = check(
        "/v1/folders", 201, http.post("/v1/folders", json={"name": f"f{uuid.uuid4().hex[:6]}"})
    ).json()
    check("/v1/folders", 409, http.post("/v1/folders", json={"name": folder["name"]}))
    check("/v1/folders/{folder_id}/contents", 200, http.get(f"/v1/folders/{folder['id']}/contents"))
    collection = check(
        "/v1/collections", 201, http.post("/v1/collections", json={"name": "board"})
    ).json()
    items = f"/v1/collections/{collection['id']}/items"
    check(
        "/v1/collections/{collection_id}/items",
        200,
        http.post(items, json={"asset_ids": [asset["id"]]}),
    )
    check("/v1/collections/{collection_id}/items", 200, http.get(items))
    check(
        "/v1/collections/{collection_id}/assets/{asset_id}/content",
        200,
        http.get(f"/v1/collections/{collection['id']}/assets/{asset['id']}/content"),
    )
    check(
        "/v1/assets/{asset_id}/references",
        201,
        http.post(
            f"{asset_path}/references",
            json={"resource_type": "page", "resource_id": "p1", "usage_type": "cover"},
        ),
    )
    check("/v1/assets/{asset_id}", 409, http.delete(asset_path))
    check("/v1/assets/{asset_id}/lineage", 200, http.get(f"{asset_path}/lineage"))
    check(
        "/v1/assets/bulk",
        200,
        http.post("/v1/assets/bulk", json={"action": "favorite", "ids": [asset["id"]]}),
    )
    check(
        "/v1/assets/{asset_id}/versions/{number}/content",
        200,
        http.get(f"{asset_path}/versions/1/content"),
    )
    check("/v1/keys", 200, http.get("/v1/keys"))
    check("/v1/keys", 422, http.post("/v1/keys", json={"scopes": ["root"]}))
    with httpx.Client(base_url=api.base_url, timeout=60) as browser:
        origin = {"Origin": api.base_url}
        check(
            "/v1/session",
            401,
            browser.post("/v1/session", json={"api_key": "nope"}, headers=origin),
        )
        check(
            "/v1/session",
            200,
            browser.post("/v1/session", json={"api_key": api.key}, headers=origin),
        )
        check("/v1/session", 200, browser.get("/v1/session"))
        check(
            "/v1/folders", 403, browser.post("/v1/folders", json={"name": "csrf"}, headers=origin)
        )


def test_outage_answers_match_the_document(tmp_path: Path) -> None:
    """503s: ready's own report, and a route's problem with Retry-After (on a fake store
    that goes down, so once, not per backend)."""
    store = FakeObjectStore()
    container = build(make_settings(tmp_path / "data"), store=store, embedder=FakeEmbedder())
    key = container.keys.create("alpha")
    try:
        with (
            running(create_app(container)) as base_url,
            httpx.Client(base_url=base_url, timeout=60) as http,
        ):
            document: dict[str, Any] = http.get("/openapi.json").json()
            schema = schemathesis.openapi.from_dict(document)
            store.down = True
            ready = http.get("/v1/ready")
            assert ready.status_code == 503
            conform(document, schema, ready, "/v1/ready")
            down = http.get("/v1/assets/x", headers={"Authorization": f"Bearer {key}"})
            assert down.status_code == 503
            assert down.headers["retry-after"]
            conform(document, schema, down, "/v1/assets/{asset_id}")
    finally:
        store.down = False
        container.close()


def test_a_body_off_the_document_fails_the_check(
    document: dict[str, Any], schema: OpenApiSchema
) -> None:
    """The check is not vacuous: a problem body without `status` does not conform."""
    request = httpx.Request("GET", "http://test/v1/assets/x")
    bad = httpx.Response(
        404,
        json={"type": "t", "title": "Not found", "detail": "d"},
        headers={"content-type": "application/problem+json"},
        request=request,
    )
    bad.elapsed = timedelta(0)  # as if sent
    with pytest.raises(Exception, match="status"):
        conform(document, schema, bad, "/v1/assets/{asset_id}")
