"""`Idempotency-Key` on uploads and URL imports: a retried request answers the first
asset, never a second."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from ipaddress import ip_network
from pathlib import Path

import httpx
import pytest

from assetlens.bootstrap import Container, build_fetcher
from assetlens.client import AssetlensClient, RetryPolicy
from assetlens.services.url_import import UrlImportService
from tests.api.conftest import png
from tests.conftest import Api
from tests.support.origin import Origin, file
from tests.support.proxy import FlakyProxy


def _upload(api: Api, key: str, data: bytes, **fields: str) -> httpx.Response:
    return api.http.post(
        "/v1/assets", files={"file": ("a.png", data)}, data=fields, headers={"Idempotency-Key": key}
    )


def _exact_copies(api: Api, asset_id: str) -> list[str]:
    """Ids of the other assets of this workspace with the same bytes, from the store's
    per-content markers (not the asynchronous index)."""
    response = api.http.get(f"/v1/assets/{asset_id}/duplicates")
    assert response.status_code == 200, response.text
    return [asset["id"] for asset in response.json()["exact"]]


def test_a_replay_answers_the_first_asset(api: Api) -> None:
    key = str(uuid.uuid4())
    data = png((10, 20, 30), pattern=3)
    first = _upload(api, key, data, name="first.png", tags="a,b")
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    again = _upload(api, key, data, name="first.png", tags="a,b")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert _exact_copies(api, first.json()["id"]) == []


def test_without_a_key_each_upload_is_new(api: Api) -> None:
    data = png((11, 20, 30), pattern=3)
    one = api.upload("a.png", data, wait=False)
    two = api.upload("a.png", data, wait=False)
    assert one.status_code == two.status_code == 201
    assert one.json()["id"] != two.json()["id"]


@pytest.mark.parametrize(
    "change",
    [
        {"data": png((12, 20, 30), pattern=4)},
        {"name": "other.png"},
        {"tags": "c"},
        {"prompt": "a different prompt"},
    ],
)
def test_the_key_of_another_request_is_refused(api: Api, change: dict[str, object]) -> None:
    key = str(uuid.uuid4())
    data = png((12, 20, 30), pattern=3)
    fields = {"name": "same.png", "tags": "a", "prompt": "a cat"}
    first = _upload(api, key, data, **fields)
    assert first.status_code == 201
    change = dict(change)  # the parameter is shared by both backends' runs
    other_data = change.pop("data", data)
    assert isinstance(other_data, bytes)
    refused = _upload(api, key, other_data, **{**fields, **change})  # type: ignore[arg-type]
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "different request" in refused.json()["detail"]


BAD_KEYS = ["", "x" * 256, "caf\u00e9", "tab\there"]


@pytest.mark.parametrize("bad", BAD_KEYS)
def test_a_malformed_key_is_a_422_and_nothing_is_made(api: Api, bad: str) -> None:
    data = png((13, 20, 30), pattern=10 + BAD_KEYS.index(bad))
    response = api.http.post(
        "/v1/assets",
        files={"file": ("a.png", data)},
        headers={b"Idempotency-Key": bad.encode("latin-1")},
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    made = api.upload("a.png", data, wait=False)
    assert made.status_code == 201
    assert _exact_copies(api, made.json()["id"]) == []


def test_a_failed_request_releases_its_key(api: Api) -> None:
    key = str(uuid.uuid4())
    bad = api.http.post(
        "/v1/assets",
        files={"file": ("a.png", b"not a png at all")},
        headers={"Idempotency-Key": key},
    )
    assert bad.status_code in (415, 422)
    # The same (bad) request again is judged again, not replayed or refused as reused.
    again = api.http.post(
        "/v1/assets",
        files={"file": ("a.png", b"not a png at all")},
        headers={"Idempotency-Key": key},
    )
    assert again.status_code == bad.status_code
    assert "Idempotent-Replayed" not in again.headers


def test_keys_are_per_workspace(api: Api, other: Api) -> None:
    key = str(uuid.uuid4())
    data = png((14, 20, 30), pattern=3)
    mine = _upload(api, key, data)
    theirs = _upload(other, key, data)
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]
    assert other.http.get(f"/v1/assets/{mine.json()['id']}").status_code == 404


def test_concurrent_requests_with_one_key_make_one_asset(api: Api) -> None:
    key = str(uuid.uuid4())
    data = png((15, 20, 30), pattern=5)
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda _: _upload(api, key, data, name="race.png"), range(6)))
    assert [r.status_code for r in responses] == [201] * 6, [r.text for r in responses]
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 1
    assert sum(1 for r in responses if "Idempotent-Replayed" not in r.headers) == 1
    assert _exact_copies(api, ids.pop()) == []


_RENDERS = itertools.count(20)


@pytest.fixture
def origin_png(live: tuple[str, Container]) -> Iterator[str]:
    """A URL on a local origin serving a PNG, with the server's guard letting 127.0.0.1
    in (wired from settings, as in production) for this test only."""
    container = live[1]
    closed = container.url_import
    settings = container.settings.model_copy(
        update={"url_import_allow_private": [ip_network("127.0.0.1/32")]}
    )
    container.url_import = UrlImportService(settings, container.assets, build_fetcher(settings))
    # A new image for each test, so that each one's exact-copy check sees only its own.
    server = Origin({"/render.png": file(png((16, 99, 99), pattern=next(_RENDERS)), "image/png")})
    try:
        yield server.url("/render.png")
    finally:
        server.close()
        container.url_import = closed


def test_a_url_import_is_idempotent_too(api: Api, origin_png: str) -> None:
    key = str(uuid.uuid4())
    headers = {"Idempotency-Key": key}
    first = api.http.post(
        "/v1/assets/from-url", json={"url": origin_png, "tags": ["web"]}, headers=headers
    )
    assert first.status_code == 201, first.text
    again = api.http.post(
        "/v1/assets/from-url", json={"url": origin_png, "tags": ["web"]}, headers=headers
    )
    assert (again.status_code, again.json()["id"]) == (201, first.json()["id"])
    assert again.headers["Idempotent-Replayed"] == "true"
    other = api.http.post(
        "/v1/assets/from-url", json={"url": origin_png, "tags": ["x"]}, headers=headers
    )
    assert other.status_code == 422
    assert _exact_copies(api, first.json()["id"]) == []


def test_a_new_version_is_idempotent_too(api: Api) -> None:
    original = api.upload("v.png", png((17, 60, 60), pattern=3), wait=False).json()
    key = str(uuid.uuid4())
    path = f"/v1/assets/{original['id']}/versions"
    body = png((17, 60, 60), pattern=6)

    def post(data: bytes, description: str = "brighter") -> httpx.Response:
        return api.http.post(
            path,
            files={"file": ("v.png", data)},
            data={"change_description": description},
            headers={"Idempotency-Key": key},
        )

    first = post(body)
    assert first.status_code == 201, first.text
    again = post(body)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["version"]["number"] == first.json()["version"]["number"] == 2
    assert post(body, "another change").status_code == 422
    assert post(png((17, 60, 60), pattern=7)).status_code == 422
    listed = api.http.get(path).json()
    assert [item["number"] for item in listed["items"]] == [2, 1]


def test_the_client_retries_a_url_import_into_one_asset(
    api: Api, origin_png: str, tmp_path: Path
) -> None:
    proxy = FlakyProxy(api.base_url)
    proxy.up()
    proxy.lose_answers(1)
    try:
        with AssetlensClient(
            proxy.url,
            api.key,
            outbox_dir=tmp_path / "outbox",
            retry=RetryPolicy(attempts=5, base=0.05, cap=0.2),
        ) as client:
            asset = client.import_url(origin_png, tags=["via-client"], prompt="a render")
    finally:
        proxy.down()
    assert proxy.lost == 1
    assert (asset.source, asset.tags, asset.generation.prompt) == (
        "url",
        ["via-client"],
        "a render",
    )
    assert _exact_copies(api, asset.id) == []
