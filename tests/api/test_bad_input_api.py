"""SECURITY.md rows for this slice, over HTTP: clear 4xx, nothing stored, no 5xx."""

from __future__ import annotations

import io
import json
import struct
import zlib

import pytest

from assetlens.bootstrap import Container
from tests.api.conftest import png
from tests.conftest import Api


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header declares a huge image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def count_assets(container: Container) -> int:
    return sum(1 for _ in container.assets.manifests.iter_keys())


@pytest.mark.parametrize(
    ("filename", "data", "status"),
    [
        ("bomb.png", bomb_png(), 422),
        ("page.png", b"<!doctype html><html><script>alert(1)</script></html>", 415),
        ("archive.png", b"PK\x03\x04" + b"\x00" * 100, 415),
        ("doc.png", b"%PDF-1.7\n" + b"\x00" * 100, 415),
        ("image.jpg", png((1, 1, 1)), 422),
        ("empty.png", b"", 415),
        ("one.png", b"\x89", 415),
        ("truncated.png", png((5, 5, 5), size=(200, 200))[:120], 422),
        ("tool.exe", b"MZ" + b"\x00" * 100, 415),
    ],
)
def test_bad_files_are_refused_and_nothing_is_stored(
    api: Api, live: tuple[str, Container], filename: str, data: bytes, status: int
) -> None:
    _, container = live
    before = count_assets(container)
    response = api.upload(filename, data)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["detail"]
    assert count_assets(container) == before


@pytest.mark.parametrize(
    "filename",
    ["../../etc/passwd.png", "..\\..\\win.png", "/abs/path.png", "a\x00b.png",
     "evil\u202egnp.png", "x" * 400 + ".png", "\uff0e\uff0e/\uff0e\uff0e/x.png"],
)
def test_hostile_filenames_become_safe_display_names(api: Api, filename: str) -> None:
    response = api.upload(filename, png((3, 3, 3), pattern=len(filename) % 50))
    assert response.status_code in (201, 415, 422), response.text
    if response.status_code == 201:
        name = response.json()["name"]
        assert "/" not in name and "\\" not in name and "\x00" not in name
        assert "\u202e" not in name
        assert len(name.encode()) <= 255


def test_oversize_file_is_413_while_streaming(api: Api, live: tuple[str, Container]) -> None:
    _, container = live
    before = count_assets(container)
    big = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 3_100_000  # over the 3 MB video limit here
    response = api.upload("clip.mp4", big)
    assert response.status_code == 413
    assert count_assets(container) == before
    spool = container.settings.data_dir / "tmp" / "uploads"
    assert not list(spool.glob("*.part"))


def test_too_many_parts_and_huge_fields(api: Api) -> None:
    parts: list[tuple[str, tuple[str | None, bytes]]] = [("file", ("a.png", png((1, 2, 1))))]
    parts += [(f"f{n}", (None, b"x")) for n in range(40)]
    many = api.http.post("/v1/assets", files=parts)
    assert many.status_code == 422
    huge = api.upload("a.png", png((2, 1, 2)), description="x" * 70_000)
    assert huge.status_code == 413


def test_bad_metadata_json(api: Api) -> None:
    deep = "[" * 5000 + "]" * 5000
    assert api.upload("m.png", png((8, 1, 1)), metadata=deep).status_code == 422
    assert api.upload("m.png", png((8, 1, 2)), metadata="{nope").status_code == 422
    assert api.upload("m.png", png((8, 1, 3)), metadata="[1, 2]").status_code == 422
    wrong = api.upload("m.png", png((8, 1, 4)), metadata=json.dumps({"seed": "abc"}))
    assert wrong.status_code == 422
    assert "seed" in wrong.json()["detail"]


def test_oversized_and_deep_json_bodies(api: Api) -> None:
    huge = api.http.post("/v1/search", content=b'{"q": "' + b"a" * 400_000 + b'"}',
                         headers={"Content-Type": "application/json"})
    assert huge.status_code == 413
    deep = api.http.post("/v1/search", content=b'{"q": ' + b"[" * 20_000 + b"]" * 20_000 + b"}",
                         headers={"Content-Type": "application/json"})
    assert deep.status_code == 422
    assert deep.headers["content-type"] == "application/problem+json"


def test_missing_file_field(api: Api) -> None:
    response = api.http.post("/v1/assets", data={"name": "x"}, files={"other": ("a.txt", b"hi")})
    assert response.status_code == 422
    plain = api.http.post("/v1/assets", content=b"raw", headers={"Content-Type": "image/png"})
    assert plain.status_code == 415


def test_unicode_tags_that_look_alike_are_one_tag(api: Api) -> None:
    variants = "Caf\u00e9,CAFE\u0301,caf\u00e9\u200b,\uff23\uff41\uff46\u00e9"
    response = api.upload("t.png", png((9, 8, 7), pattern=9), tags=variants)
    assert response.json()["tags"] == ["café"]


def test_truncated_multipart_body_is_refused(api: Api) -> None:
    body = (b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n"
            b"Content-Type: image/png\r\n\r\n" + png((1, 1, 9)))
    response = api.http.post("/v1/assets", content=io.BytesIO(body).read(),
                             headers={"Content-Type": "multipart/form-data; boundary=XyZ"})
    assert response.status_code == 422


def test_malformed_part_headers_are_refused_and_the_server_stays_usable(api: Api) -> None:
    before = api.search(limit=1).json()["total"]
    for header in (b"broken header without a colon", b"Content-Disposition form-data\rx"):
        body = b"--zz\r\n" + header + b"\r\n\r\nx\r\n--zz--\r\n"
        response = api.http.post("/v1/assets", content=body,
                                 headers={"Content-Type": "multipart/form-data; boundary=zz"})
        assert response.status_code == 422, response.text
        assert "malformed multipart" in response.json()["detail"]
    assert api.search(limit=1).json()["total"] == before


LONE = '"\\ud800"'  # the JSON text of a string holding half a surrogate pair


def test_lone_surrogates_are_refused_everywhere_json_enters(api: Api) -> None:
    search = api.http.post("/v1/search", content=f'{{"filters": {{"tags": [{LONE}]}}}}',
                           headers={"Content-Type": "application/json"})
    assert search.status_code == 422, search.text
    assert "surrogate" in search.json()["detail"]
    uploaded = api.upload("s.png", png((3, 9, 9), pattern=2)).json()
    patch = api.http.patch(f"/v1/assets/{uploaded['id']}", content=f'{{"tags": [{LONE}]}}',
                           headers={"Content-Type": "application/json"})
    assert patch.status_code == 422, patch.text
    assert api.http.get(f"/v1/assets/{uploaded['id']}").json()["revision"] == \
        uploaded["revision"]  # nothing changed
    meta = api.upload("s.png", png((3, 9, 8), pattern=2), metadata=f'{{"model": {LONE}}}')
    assert meta.status_code == 422, meta.text
    # A whole pair (an emoji written as escapes) is fine.
    pair = api.http.post("/v1/search", content='{"q": "\\ud83e\\udd8a"}',
                         headers={"Content-Type": "application/json"})
    assert pair.status_code == 200, pair.text


def test_client_cannot_forge_server_side_provenance(api: Api) -> None:
    forged = api.upload("f.png", png((7, 7, 1)), metadata=json.dumps(
        {"c2pa": {"validation_state": "Valid"}, "ai_generated": False}))
    assert forged.status_code == 422
    assert "c2pa" in forged.json()["detail"]
    orphan = api.upload("o.png", png((7, 7, 2)),
                        metadata=json.dumps({"source_asset_id": "0" * 32}))
    assert orphan.status_code == 422


def test_multipart_does_not_lift_the_json_limit_elsewhere(api: Api) -> None:
    big = b"x" * 400_000
    response = api.http.post("/v1/search", files={"q": (None, big)})
    assert response.status_code == 413


def test_bad_filters_on_search_by_image_are_422(api: Api) -> None:
    response = api.http.post("/v1/search/by-image", files={"file": ("q.png", png((1, 9, 9)))},
                             data={"filters": json.dumps({"type": ["spaceship"]})})
    assert response.status_code == 422
