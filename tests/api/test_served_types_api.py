"""SECURITY.md row 4 over HTTP: a file accepted under a close relative's extension (MP4 bytes
named `.mov`, TrueType named `.otf` …) is stored and served with its sniffed type, never the
one its name suggests, on the content, version-content and preview routes; and that type is
one the OpenAPI document lists for those routes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import Api
from tests.support import media_samples as samples

# (file name, bytes, the Content-Type the content routes must answer, has a preview).
RELATIVES: list[tuple[str, Callable[[], bytes], str, bool]] = [
    ("mpeg4-named.mov", samples.mp4_bytes, "video/mp4", True),
    ("quicktime-named.mp4", samples.mov_bytes, "video/quicktime", True),
    ("plain-mp4-audio.m4a", samples.mp4_audio_only_bytes, "audio/mp4", True),
    ("truetype-named.otf", samples.ttf_bytes, "font/ttf", True),
    ("cff-named.ttf", samples.otf_bytes, "font/otf", True),
    ("opus-named.ogg", samples.ogg_bytes, "audio/ogg", True),
    ("page-named.txt", lambda: b"<!doctype html><script>alert(1)</script>", "text/plain", False),
]


@pytest.fixture(scope="module")
def documented(api: Api) -> dict[str, set[str]]:
    """The media types the served OpenAPI document lists for each content route's 200."""
    paths = api.http.get("/openapi.json").json()["paths"]
    return {
        path: set(paths[path]["get"]["responses"]["200"]["content"])
        for path in (
            "/v1/assets/{asset_id}/content",
            "/v1/assets/{asset_id}/versions/{number}/content",
        )
    }


@pytest.mark.parametrize(
    ("filename", "make", "served"),
    [(name, make, served) for name, make, served, _ in RELATIVES],
    ids=[name for name, *_ in RELATIVES],
)
def test_an_accepted_relative_is_served_with_its_sniffed_type(
    api: Api, documented: dict[str, set[str]], filename: str, make: Callable[[], bytes], served: str
) -> None:
    data = make()
    created = api.upload(filename, data)
    assert created.status_code == 201, created.text
    asset = created.json()
    assert asset["mime"] == served
    for url in (
        f"/v1/assets/{asset['id']}/content",
        f"/v1/assets/{asset['id']}/versions/1/content",
    ):
        response = api.http.get(url)
        assert response.status_code == 200, (url, response.text)
        assert response.content == data
        assert response.headers["content-type"].split(";")[0] == served, url
        assert response.headers["x-content-type-options"] == "nosniff"
        assert all(served in media_types for media_types in documented.values())
        ranged = api.http.get(url, headers={"Range": "bytes=0-9"})
        assert ranged.status_code == 206
        assert ranged.headers["content-type"].split(";")[0] == served, url


@pytest.mark.parametrize(
    ("filename", "make"),
    [(name, make) for name, make, _, preview in RELATIVES if preview],
    ids=[name for name, *_, preview in RELATIVES if preview],
)
def test_the_preview_of_an_accepted_relative_is_webp(
    api: Api, filename: str, make: Callable[[], bytes]
) -> None:
    asset = api.upload(filename, make()).json()
    for size in ("small", "medium"):
        response = api.http.get(f"/v1/assets/{asset['id']}/thumbnail", params={"size": size})
        assert response.status_code == 200, (size, response.text)
        assert response.headers["content-type"] == "image/webp"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.content[:4] == b"RIFF" and response.content[8:12] == b"WEBP"
