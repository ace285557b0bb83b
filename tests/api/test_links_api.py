"""Signed links over HTTP, on both backends: make one, serve it without a key, and refuse
every changed byte, expiry, trashed asset and another workspace's id."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from assetlens.bootstrap import Container, build
from assetlens.services.links import LinkService
from assetlens.signing import SigningSecret
from tests.api.conftest import drop_server_data, png, server_settings
from tests.conftest import Api
from tests.fakes import FakeEmbedder
from tests.support.server import running

Live = tuple[str, Container]
SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">'
    b'<rect width="8" height="8"/></svg>'
)


@pytest.fixture(scope="module")
def image(api: Api) -> dict[str, Any]:
    response = api.upload("cat.png", png((90, 30, 200), pattern=5))
    assert response.status_code == 201, response.text
    asset: dict[str, Any] = response.json()
    return asset


@pytest.fixture(scope="module")
def anonymous() -> Iterator[httpx.Client]:
    """A client without credentials, as a link's recipient has."""
    with httpx.Client(timeout=60) as client:
        yield client


def link(api: Api, asset_id: str, **body: Any) -> httpx.Response:
    return api.http.post(f"/v1/assets/{asset_id}/signed-url", json=body)


def make(api: Api, asset_id: str, **body: Any) -> str:
    response = link(api, asset_id, **body)
    assert response.status_code == 200, response.text
    url: str = response.json()["url"]
    return url


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_a_signed_url_serves_the_content_without_a_key(
    api: Api, image: dict[str, Any], anonymous: httpx.Client
) -> None:
    before = time.time()
    response = link(api, image["id"], expires_in=120)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"url", "expires_at"}
    assert body["url"].startswith(f"{api.base_url}/v1/signed/")
    assert api.key not in body["url"]
    assert int(before) + 120 <= _timestamp(body["expires_at"]) <= int(time.time()) + 120
    served = anonymous.get(body["url"])
    assert served.status_code == 200
    assert served.content == api.http.get(f"/v1/assets/{image['id']}/content").content
    assert served.headers["content-type"] == "image/png"
    assert served.headers["content-disposition"].startswith("inline;")
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["referrer-policy"] == "no-referrer"
    assert (
        "max-age=120" in served.headers["cache-control"]
        or "max-age=119" in served.headers["cache-control"]
    )
    part = anonymous.get(body["url"], headers={"Range": "bytes=0-3"})
    assert part.status_code == 206 and part.content == b"\x89PNG"


def _timestamp(value: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(value).timestamp())


def test_attachment_and_thumbnail_links(
    api: Api, image: dict[str, Any], anonymous: httpx.Client
) -> None:
    download = anonymous.get(make(api, image["id"], expires_in=60, disposition="attachment"))
    assert download.status_code == 200
    assert download.headers["content-disposition"] == "attachment; filename*=UTF-8''cat.png"
    thumb = anonymous.get(make(api, image["id"], expires_in=60, thumbnail="small"))
    assert thumb.status_code == 200, thumb.text
    assert thumb.headers["content-type"] == "image/webp"
    assert thumb.content[:4] == b"RIFF"


def test_svg_links_stay_attachments_with_a_sandboxing_csp(
    api: Api, anonymous: httpx.Client
) -> None:
    svg = api.upload("logo.svg", SVG).json()
    served = anonymous.get(make(api, svg["id"], expires_in=60, disposition="inline"))
    assert served.status_code == 200, served.text
    assert served.headers["content-disposition"].startswith("attachment;")
    assert served.headers["content-security-policy"] == "default-src 'none'; sandbox"


def test_any_changed_byte_of_the_token_is_refused(
    api: Api, image: dict[str, Any], anonymous: httpx.Client
) -> None:
    url = make(api, image["id"], expires_in=60)
    prefix, token = url.rsplit("/", 1)
    for position, char in enumerate(token):
        changed = token[:position] + ("B" if char != "B" else "C") + token[position + 1 :]
        assert_refused(anonymous.get(f"{prefix}/{changed}"))
    for bad in (token[:-1], token + "A", "x", "%00", "a" * 5000, token.replace(".", "-")):
        assert_refused(anonymous.get(f"{prefix}/{bad}"))
    assert anonymous.get(url).status_code == 200  # the original still works


def test_an_expired_link_is_refused(
    live: Live, api: Api, image: dict[str, Any], anonymous: httpx.Client
) -> None:
    container = live[1]
    # Signed with the server's own secret, an hour ago: only the expiry is wrong.
    past = LinkService(
        container.settings,
        container.store,
        container.assets,
        container.versions,
        SigningSecret(container.store),
        clock=lambda: time.time() - 3600,
    )
    token = past.sign("alpha", image["id"], expires_in=60).token
    response = anonymous.get(f"{live[0]}/v1/signed/{token}")
    assert_refused(response)
    assert "expired" in response.json()["detail"]


def test_a_trashed_asset_stops_serving_and_restored_serves_again(
    api: Api, anonymous: httpx.Client
) -> None:
    asset = api.upload("gone.png", png((3, 140, 70), pattern=2)).json()
    url = make(api, asset["id"], expires_in=60)
    assert api.http.delete(f"/v1/assets/{asset['id']}").status_code == 200
    assert_refused(anonymous.get(url))
    assert link(api, asset["id"], expires_in=60).status_code == 404
    assert api.http.post(f"/v1/assets/{asset['id']}/restore").status_code == 200
    assert anonymous.get(url).status_code == 200


def test_another_workspaces_or_a_missing_id_is_404(
    api: Api, other: Api, image: dict[str, Any]
) -> None:
    theirs = link(other, image["id"], expires_in=60)
    missing = link(api, "0" * 32, expires_in=60)
    for response in (theirs, missing):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    assert theirs.json()["detail"] == missing.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"expires_in": 0},
        {"expires_in": -5},
        {"expires_in": 7 * 24 * 3600 + 1},
        {"expires_in": 2**80},
        {"expires_in": "soon"},
        {"disposition": "download"},
        {"thumbnail": "large"},
        {"unknown": 1},
    ],
)
def test_bad_requests_are_422(api: Api, image: dict[str, Any], body: dict[str, Any]) -> None:
    response = link(api, image["id"], **body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_a_read_only_key_may_sign(
    live: Live, image: dict[str, Any], anonymous: httpx.Client
) -> None:
    from assetlens.access import Scope

    key = live[1].keys.create("alpha", "reader", frozenset({Scope.READ}))
    reader = Api(live[0], key)
    try:
        assert anonymous.get(make(reader, image["id"], expires_in=30)).status_code == 200
    finally:
        reader.http.close()


# -- production: redirect to a MinIO presigned URL ---------------------------------------------


@pytest.fixture(scope="module")
def redirecting(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Container]]:
    """A server on the real MinIO and Elasticsearch with `signed_url_redirect` on."""
    data = Path(tmp_path_factory.mktemp("redirect")) / "data"
    settings = server_settings(request, data).model_copy(update={"signed_url_redirect": True})
    container = build(settings, embedder=FakeEmbedder())
    with running(create_app(container, run_indexer=True)) as base_url:
        yield base_url, container
    drop_server_data(request, settings, container)
    container.close()


def test_production_links_redirect_to_a_presigned_minio_url(
    redirecting: tuple[str, Container], anonymous: httpx.Client
) -> None:
    base_url, container = redirecting
    client = Api(base_url, container.keys.create("alpha"))
    try:
        data = png((10, 220, 120), pattern=4)
        asset = client.upload("fern.png", data).json()
        url = make(client, asset["id"], expires_in=300, disposition="attachment")
        redirect = anonymous.get(url)
        assert redirect.status_code == 307
        location = redirect.headers["location"]
        assert location.startswith(container.settings.s3_endpoint)
        assert "X-Amz-Expires=300" in location or "X-Amz-Expires=299" in location
        served = anonymous.get(location)
        assert served.status_code == 200
        assert served.content == data
        assert served.headers["content-type"] == "image/png"
        assert served.headers["content-disposition"] == "attachment; filename*=UTF-8''fern.png"
        thumb = anonymous.get(make(client, asset["id"], expires_in=60, thumbnail="small"))
        assert thumb.status_code == 200  # previews are served by the API itself
        client.http.delete(f"/v1/assets/{asset['id']}")
        assert_refused(anonymous.get(url))
    finally:
        client.http.close()


def test_a_link_keeps_serving_its_version_after_a_new_one(
    api: Api, anonymous: httpx.Client
) -> None:
    first, second = png((200, 120, 10), pattern=2), png((10, 120, 200), pattern=4)
    created = api.upload("poster.png", first)
    assert created.status_code == 201, created.text
    asset_id = created.json()["id"]
    content_url = make(api, asset_id, expires_in=300)
    preview_url = make(api, asset_id, expires_in=300, thumbnail="small")
    first_preview = anonymous.get(preview_url)
    assert first_preview.status_code == 200
    replaced = api.http.post(
        f"/v1/assets/{asset_id}/versions",
        params={"wait": "true"},
        files={"file": ("poster.png", second)},
    )
    assert replaced.status_code == 201, replaced.text

    # The old links serve version 1's bytes and preview; a new link serves version 2's.
    assert anonymous.get(content_url).content == first
    assert anonymous.get(preview_url).content == first_preview.content
    assert anonymous.get(make(api, asset_id, expires_in=300)).content == second
    new_preview = anonymous.get(make(api, asset_id, expires_in=300, thumbnail="small"))
    assert new_preview.status_code == 200
    assert new_preview.content != first_preview.content

    # Once version 1 is deleted, its links stop serving.
    assert api.http.delete(f"/v1/assets/{asset_id}/versions/1").status_code == 204
    gone = anonymous.get(content_url)
    assert_refused(gone)
    assert "no longer kept" in gone.json()["detail"]
    assert_refused(anonymous.get(preview_url))
