"""POST /v1/assets/from-url over HTTP, on both backends, against local servers of the
test's own. The server's guard admits only public addresses; `opened` lets 127.0.0.1 in
for one test at a time (the test's "public internet"), and a `Trap` on 127.0.0.2 counts
the connections a refused target would have had: none."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from ipaddress import ip_network
from typing import Any

import pytest

from assetlens.bootstrap import Container, build_fetcher
from assetlens.services.url_import import UrlImportService
from tests.api.conftest import png
from tests.conftest import Api
from tests.support.origin import Origin, Trap, drip, file, redirect, status, unbounded

Live = tuple[str, Container]
IMAGE = png((240, 120, 10), pattern=9)


def import_url(api: Api, url: str, **fields: Any) -> Any:
    return api.http.post(
        "/v1/assets/from-url", params={"wait": "true"}, json={"url": url, **fields}
    )


def assert_problem(response: Any, status_code: int) -> None:
    assert response.status_code == status_code, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.fixture
def origin() -> Iterator[Origin]:
    server = Origin(
        {
            "/pics/fox.png": file(IMAGE, "image/png"),
            "/render": file(IMAGE, "image/png"),
            "/missing.png": status(404),
            "/tool.exe": file(b"MZ" * 100),
            "/to-trap": redirect("http://127.0.0.2:{trap}/x.png"),
            "/drip.png": drip(400, 0.02),
        }
    )
    yield server
    server.close()


@pytest.fixture
def trap(origin: Origin) -> Iterator[Trap]:
    t = Trap("127.0.0.2")
    origin.routes["/to-trap"] = redirect(f"http://127.0.0.2:{t.port}/x.png")
    yield t
    t.close()


@pytest.fixture
def opened(live: Live) -> Iterator[None]:
    """The server's guard with 127.0.0.1/32 allowed (and a short deadline), for this test
    only: wired from settings as in production."""
    container = live[1]
    closed = container.url_import
    settings = container.settings.model_copy(
        update={
            "url_import_allow_private": [ip_network("127.0.0.1/32")],
            "url_import_timeout_seconds": 1.5,
        }
    )
    container.url_import = UrlImportService(settings, container.assets, build_fetcher(settings))
    yield
    container.url_import = closed


@pytest.mark.usefixtures("opened")
def test_an_image_is_imported_through_the_upload_pipeline(api: Api, origin: Origin) -> None:
    response = import_url(
        api,
        origin.url("/pics/fox.png"),
        tags=["Fox", "web"],
        prompt="a fox at dusk",
        metadata={"model": "sdxl"},
    )
    assert response.status_code == 201, response.text
    asset = response.json()
    assert asset["name"] == "fox.png" and asset["type"] == "image"
    assert asset["source"] == "url" and asset["mime"] == "image/png"
    assert asset["tags"] == ["fox", "web"] and asset["generation"]["model"] == "sdxl"
    assert asset["status"] == "ready" and asset["media"]["width"] == 64
    assert response.headers["etag"] == f'"r{asset["revision"]}"'
    content = api.http.get(f"/v1/assets/{asset['id']}/content")
    assert content.content == IMAGE
    found = api.search(q="fox at dusk").json()
    assert asset["id"] in [hit["asset"]["id"] for hit in found["items"]]


@pytest.mark.usefixtures("opened")
def test_a_name_and_an_extension_from_the_content_type(api: Api, origin: Origin) -> None:
    named = import_url(api, origin.url("/render"), name="Sunset")
    assert named.status_code == 201, named.text
    assert named.json()["name"] == "Sunset" and named.json()["extension"] == "png"


def test_the_default_guard_refuses_loopback_without_connecting(api: Api, origin: Origin) -> None:
    for url in (
        origin.url("/pics/fox.png"),
        origin.url("/pics/fox.png", "2130706433"),
        origin.url("/pics/fox.png", "0177.0.0.1"),
        origin.url("/pics/fox.png", "0x7f.1"),
        origin.url("/pics/fox.png", "localhost"),
        origin.url("/pics/fox.png", "[::ffff:127.0.0.1]"),
    ):
        response = import_url(api, url)
        assert_problem(response, 422)
        # Refused as a non-public address after resolution, or (0177.0.0.1, which the
        # URL parser already rejects as a malformed IPv4 address) as not a valid URL.
        assert any(why in response.json()["detail"] for why in ("public", "valid URL"))
    assert origin.seen.paths == []


@pytest.mark.usefixtures("opened")
def test_a_redirect_to_a_private_address_is_refused(api: Api, origin: Origin, trap: Trap) -> None:
    assert_problem(import_url(api, origin.url("/to-trap")), 422)
    assert origin.seen.paths == ["/to-trap"]
    assert trap.connections == 0


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/a.png",
        "gopher://127.0.0.1/",
        "javascript:alert(1)",
        "http://user:pw@example.com/a.png",
        "not a url",
    ],
)
def test_non_http_urls_are_422(api: Api, url: str) -> None:
    assert_problem(import_url(api, url), 422)


@pytest.mark.usefixtures("opened")
def test_upstream_failures_and_refused_types(api: Api, origin: Origin) -> None:
    missing = import_url(api, origin.url("/missing.png"))
    assert_problem(missing, 502)
    assert "404" in missing.json()["detail"]
    assert_problem(import_url(api, origin.url("/tool.exe")), 415)
    slow = import_url(api, origin.url("/drip.png"))
    assert_problem(slow, 504)


@pytest.mark.usefixtures("opened")
def test_the_type_limit_holds_while_streaming(api: Api, origin: Origin) -> None:
    # The live server limits video to 3 MB: an mp4 without a Content-Length stops there.
    origin.routes["/clip.mp4"] = unbounded(b"\0" * 65536, 80)
    origin.routes["/declared.mp4"] = unbounded(b"\0", 1, declared=50_000_000)
    assert_problem(import_url(api, origin.url("/clip.mp4")), 413)
    assert_problem(import_url(api, origin.url("/declared.mp4")), 413)


@pytest.mark.usefixtures("opened")
def test_bad_fields_are_refused_before_anything_is_fetched(
    api: Api, other: Api, origin: Origin
) -> None:
    folder = other.http.post("/v1/folders", json={"name": "Theirs"})
    assert folder.status_code == 201, folder.text
    refused: list[dict[str, Any]] = [
        {"folder_id": folder.json()["id"]},
        {"metadata": {"seed": "many"}},
        {"metadata": {"c2pa": {}}},
    ]
    for fields in refused:
        assert_problem(import_url(api, origin.url("/pics/fox.png"), **fields), 422)
    for body in (
        {},
        {"url": ""},
        {"url": "http://x/" + "a" * 5000},
        {"url": origin.url("/pics/fox.png"), "tags": "fox"},
        {"url": origin.url("/pics/fox.png"), "extra": 1},
    ):
        assert_problem(api.http.post("/v1/assets/from-url", json=body), 422)
    assert origin.seen.paths == []


@pytest.mark.usefixtures("opened")
def test_an_import_lands_in_the_callers_workspace_only(
    api: Api, other: Api, origin: Origin
) -> None:
    asset = import_url(other, origin.url("/pics/fox.png")).json()
    assert other.http.get(f"/v1/assets/{asset['id']}").status_code == 200
    assert_problem(api.http.get(f"/v1/assets/{asset['id']}"), 404)


@pytest.mark.usefixtures("opened")
def test_the_workspace_duplicate_policy_applies_to_imports(live: Live, origin: Origin) -> None:
    client = Api(live[0], live[1].keys.create(f"imp-{uuid.uuid4().hex[:10]}"))
    try:
        first = import_url(client, origin.url("/pics/fox.png"))
        assert first.status_code == 201, first.text
        original = first.json()["id"]
        for policy in ("link", "reject"):
            response = client.http.put(
                "/v1/settings/duplicates", json={"policy": policy, "near": {"enabled": False}}
            )
            assert response.status_code == 200, response.text
            again = import_url(client, origin.url("/render"))
            if policy == "link":
                assert again.status_code == 200, again.text
                assert again.json()["id"] == original
                assert again.headers["x-duplicate-of"] == original
            else:
                assert_problem(again, 409)
                assert again.json()["duplicate_of"] == original
        listed = client.http.get("/v1/assets").json()
        assert [hit["asset"]["id"] for hit in listed["items"]] == [original]
    finally:
        client.http.close()
