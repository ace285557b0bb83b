"""SECURITY.md rows for this slice, over HTTP: clear 4xx, nothing stored, no 5xx."""

from __future__ import annotations

import base64
import io
import json
import logging
import random
import socket
import struct
import time
import zlib

import httpx
import pytest
from PIL import Image

from assetlens import fields
from assetlens.bootstrap import Container
from tests.api.conftest import png
from tests.conftest import Api


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header declares a huge image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


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
    [
        "../../etc/passwd.png",
        "..\\..\\win.png",
        "/abs/path.png",
        "a\x00b.png",
        "evil\u202egnp.png",
        "x" * 400 + ".png",
        "\uff0e\uff0e/\uff0e\uff0e/x.png",
    ],
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
    huge = api.http.post(
        "/v1/search",
        content=b'{"q": "' + b"a" * 400_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert huge.status_code == 413
    deep = api.http.post(
        "/v1/search",
        content=b'{"q": ' + b"[" * 20_000 + b"]" * 20_000 + b"}",
        headers={"Content-Type": "application/json"},
    )
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
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + png((1, 1, 9))
    )
    response = api.http.post(
        "/v1/assets",
        content=io.BytesIO(body).read(),
        headers={"Content-Type": "multipart/form-data; boundary=XyZ"},
    )
    assert response.status_code == 422


def test_malformed_part_headers_are_refused_and_the_server_stays_usable(api: Api) -> None:
    before = api.search(limit=1).json()["total"]
    for header in (b"broken header without a colon", b"Content-Disposition form-data\rx"):
        body = b"--zz\r\n" + header + b"\r\n\r\nx\r\n--zz--\r\n"
        response = api.http.post(
            "/v1/assets", content=body, headers={"Content-Type": "multipart/form-data; boundary=zz"}
        )
        assert response.status_code == 422, response.text
        assert "malformed multipart" in response.json()["detail"]
    assert api.search(limit=1).json()["total"] == before


LONE = '"\\ud800"'  # the JSON text of a string holding half a surrogate pair


def test_lone_surrogates_are_refused_everywhere_json_enters(api: Api) -> None:
    search = api.http.post(
        "/v1/search",
        content=f'{{"filters": {{"tags": [{LONE}]}}}}',
        headers={"Content-Type": "application/json"},
    )
    assert search.status_code == 422, search.text
    assert "surrogate" in search.json()["detail"]
    uploaded = api.upload("s.png", png((3, 9, 9), pattern=2)).json()
    patch = api.http.patch(
        f"/v1/assets/{uploaded['id']}",
        content=f'{{"tags": [{LONE}]}}',
        headers={"Content-Type": "application/json"},
    )
    assert patch.status_code == 422, patch.text
    assert (
        api.http.get(f"/v1/assets/{uploaded['id']}").json()["revision"] == uploaded["revision"]
    )  # nothing changed
    meta = api.upload("s.png", png((3, 9, 8), pattern=2), metadata=f'{{"model": {LONE}}}')
    assert meta.status_code == 422, meta.text
    # A whole pair (an emoji written as escapes) is fine.
    pair = api.http.post(
        "/v1/search",
        content='{"q": "\\ud83e\\udd8a"}',
        headers={"Content-Type": "application/json"},
    )
    assert pair.status_code == 200, pair.text


def test_client_cannot_forge_server_side_provenance(api: Api) -> None:
    forged = api.upload(
        "f.png",
        png((7, 7, 1)),
        metadata=json.dumps({"c2pa": {"validation_state": "Valid"}, "ai_generated": False}),
    )
    assert forged.status_code == 422
    assert "c2pa" in forged.json()["detail"]
    orphan = api.upload("o.png", png((7, 7, 2)), metadata=json.dumps({"source_asset_id": "0" * 32}))
    assert orphan.status_code == 422


def test_multipart_does_not_lift_the_json_limit_elsewhere(api: Api) -> None:
    big = b"x" * 400_000
    response = api.http.post("/v1/search", files={"q": (None, big)})
    assert response.status_code == 413


def test_bad_filters_on_search_by_image_are_422(api: Api) -> None:
    response = api.http.post(
        "/v1/search/by-image",
        files={"file": ("q.png", png((1, 9, 9)))},
        data={"filters": json.dumps({"type": ["spaceship"]})},
    )
    assert response.status_code == 422


# Issue 11 item 1: values at the edges of their types, on every route that takes them. Each
# refusal is a 4xx problem naming the field, and a refused write changes nothing.


def assert_refused(response: httpx.Response, status: int = 422, field: str = "") -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    if field:
        assert field in response.json()["detail"], response.text


def json_call(
    api: Api, method: str, url: str, text: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return api.http.request(
        method,
        url,
        content=text.encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def test_a_media_type_in_any_letter_case_is_multipart(api: Api) -> None:
    # Bigger than the JSON body limit: read as JSON, the body limit would refuse it (413).
    noise = Image.frombytes("RGB", (320, 320), random.Random(11).randbytes(320 * 320 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, format="PNG")
    assert len(buffer.getvalue()) > 256 * 1024
    body = (
        b'--Zz\r\nContent-Disposition: form-data; name="file"; filename="n.png"\r\n\r\n'
        + buffer.getvalue()
        + b"\r\n--Zz--\r\n"
    )
    response = api.http.post(
        "/v1/assets", content=body, headers={"Content-Type": "Multipart/Form-Data; boundary=Zz"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["size_bytes"] == len(buffer.getvalue())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"filters": {"size_min": 18446744073709551616}}', "filters.size_min"),
        ('{"filters": {"size_max": 9223372036854775808}}', "filters.size_max"),
        ('{"limit": ' + "9" * 5000 + "}", "limit"),
        ('{"filters": {"cost_min": NaN}}', "filters.cost_min"),
        ('{"filters": {"cost_max": Infinity}}', "filters.cost_max"),
        ('{"filters": {"cost_max": 1e400}}', "filters.cost_max"),
    ],
)
def test_numbers_no_backend_holds_are_refused_in_search(api: Api, body: str, field: str) -> None:
    assert_refused(json_call(api, "POST", "/v1/search", body), field=field)


@pytest.mark.parametrize(
    "values", [[10**30, "x"], [2**63, "x"], [float("nan")], [[1]], [{"a": 1}], {"a": 1}]
)
def test_forged_cursors_are_refused(api: Api, values: object) -> None:
    raw = json.dumps(values).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert_refused(api.search(cursor=cursor), field="cursor")
    assert_refused(api.http.get("/v1/assets", params={"cursor": cursor}), field="cursor")


def test_a_cursor_of_thousands_of_digits_is_refused(api: Api) -> None:
    cursor = base64.urlsafe_b64encode(b"[" + b"9" * 300 + b"]").decode().rstrip("=")
    assert_refused(api.search(cursor=cursor), field="cursor")


@pytest.mark.parametrize(
    "number", ["NaN", "Infinity", "-Infinity", "1e400", "18446744073709551616", "9" * 5000]
)
def test_metadata_numbers_no_backend_holds_change_nothing(
    api: Api, live: tuple[str, Container], number: str
) -> None:
    _, container = live
    before = count_assets(container)
    metadata = f'{{"cfg_scale": 7, "seed": {number}}}'
    assert_refused(
        api.upload("n.png", png((4, 4, 7), pattern=3), metadata=metadata), field="metadata.seed"
    )
    assert count_assets(container) == before
    asset = api.upload("n.png", png((4, 4, 8), pattern=len(number) % 40)).json()
    for body in (
        f'{{"metadata": {{"cfg_scale": {number}}}}}',
        f'{{"name": "changed", "metadata": {{"loras": [{{"name": "x", "weight": {number}}}]}}}}',
    ):
        assert_refused(json_call(api, "PATCH", f"/v1/assets/{asset['id']}", body), field="metadata")
    after = api.http.get(f"/v1/assets/{asset['id']}").json()
    assert after["revision"] == asset["revision"] and after["name"] == asset["name"]


def test_a_range_of_thousands_of_digits_is_416_or_the_whole_file(api: Api) -> None:
    data = png((6, 6, 1), pattern=5)
    asset = api.upload("r.png", data).json()
    url = f"/v1/assets/{asset['id']}/content"
    huge = "9" * 5000
    start = api.http.get(url, headers={"Range": f"bytes={huge}-"})
    assert_refused(start, 416)
    assert start.headers["content-range"] == f"bytes */{len(data)}"
    end = api.http.get(url, headers={"Range": f"bytes=0-{huge}"})
    assert end.status_code == 206 and end.content == data
    suffix = api.http.get(url, headers={"Range": f"bytes=-{huge}"})
    assert suffix.status_code == 206 and suffix.content == data


def test_an_if_match_of_thousands_of_digits_is_412_and_changes_nothing(api: Api) -> None:
    asset = api.upload("i.png", png((6, 6, 2), pattern=6)).json()
    response = api.http.patch(
        f"/v1/assets/{asset['id']}",
        json={"name": "changed"},
        headers={"If-Match": '"r' + "9" * 5000 + '"'},
    )
    assert_refused(response, 412)
    assert api.http.get(f"/v1/assets/{asset['id']}").json()["name"] == asset["name"]


def test_another_workspaces_source_asset_is_refused_on_every_route_that_sets_it(
    api: Api, other: Api, live: tuple[str, Container]
) -> None:
    _, container = live
    theirs = other.upload("t.png", png((6, 6, 3), pattern=7)).json()["id"]
    mine = api.upload("m.png", png((6, 6, 4), pattern=8)).json()
    metadata = {"source_asset_id": theirs}
    before = count_assets(container)
    assert_refused(
        api.upload("s.png", png((6, 6, 5)), metadata=json.dumps(metadata)), field="source_asset_id"
    )
    assert count_assets(container) == before
    assert_refused(
        api.http.patch(f"/v1/assets/{mine['id']}", json={"metadata": metadata}),
        field="source_asset_id",
    )
    after = api.http.get(f"/v1/assets/{mine['id']}").json()
    assert after["revision"] == mine["revision"] and after["lineage"] == []


# One past each shared limit (assetlens/fields.py): the same answer on upload, PATCH, URL
# import and bulk.
TOO_LONG = {
    "name": "n" * (fields.MAX_NAME_CHARS + 1),
    "description": "d" * (fields.MAX_DESCRIPTION_CHARS + 1),
    "prompt": "p" * (fields.MAX_PROMPT_CHARS + 1),
    "folder_id": "f" * (fields.MAX_ID_CHARS + 1),
}


def upload_with(api: Api, data: bytes, form: dict[str, str]) -> httpx.Response:
    return api.http.post(
        "/v1/assets", params={"wait": "true"}, files={"file": ("l.png", data)}, data=form
    )


@pytest.mark.parametrize("name", sorted(TOO_LONG))
def test_upload_patch_and_url_import_share_the_field_limits(
    api: Api, live: tuple[str, Container], name: str
) -> None:
    _, container = live
    value = TOO_LONG[name]
    before = count_assets(container)
    assert_refused(upload_with(api, png((7, 6, 1)), {name: value}), field=name)
    assert_refused(
        api.http.post(
            "/v1/assets/from-url", json={"url": "https://example.invalid/a.png", name: value}
        ),
        field=name,
    )
    assert count_assets(container) == before
    asset = api.upload("l.png", png((7, 6, 2), pattern=len(name))).json()
    assert_refused(api.http.patch(f"/v1/assets/{asset['id']}", json={name: value}), field=name)
    assert api.http.get(f"/v1/assets/{asset['id']}").json()["revision"] == asset["revision"]
    # Exactly at the limit is accepted on upload as on PATCH (a folder id must name one).
    if name != "folder_id":
        at_limit = value[:-1]
        assert (
            upload_with(api, png((7, 6, 3), pattern=len(name) + 1), {name: at_limit}).status_code
            == 201
        )
        patched = api.http.patch(f"/v1/assets/{asset['id']}", json={name: at_limit})
        assert patched.status_code == 200, patched.text


def test_tag_limits_are_the_same_on_upload_patch_and_bulk(api: Api) -> None:
    long_tag = "t" * (fields.MAX_TAG_INPUT_CHARS + 1)
    many = [f"t{n}" for n in range(fields.MAX_TAGS + 1)]
    asset = api.upload("g.png", png((7, 6, 4), pattern=2)).json()
    for tags in ([long_tag], many):
        assert_refused(api.upload("g.png", png((7, 6, 5)), tags=",".join(tags)), field="tags")
        assert_refused(
            api.http.patch(f"/v1/assets/{asset['id']}", json={"tags": tags}), field="tags"
        )
    assert_refused(
        api.http.post(
            "/v1/assets/bulk", json={"action": "tag", "ids": [asset["id"]], "tags": [long_tag]}
        ),
        field="tags",
    )
    assert api.http.get(f"/v1/assets/{asset['id']}").json()["revision"] == asset["revision"]


def test_search_filters_share_the_id_and_tag_limits(api: Api) -> None:
    """Search and listing filters take ids and tags within the same limits as the routes
    that store them (docs/API.md, "Field rules"): one past a limit is a 422 naming it."""
    long_id = "a" * (fields.MAX_ID_CHARS + 1)
    long_tag = "t" * (fields.MAX_TAG_INPUT_CHARS + 1)
    for field, value in (
        ("ids", long_id),
        ("folder_id", long_id),
        ("exclude_folder_id", long_id),
        ("tags", long_tag),
    ):
        assert_refused(api.http.post("/v1/search", json={"filters": {field: [value]}}), field=field)
        if field != "exclude_folder_id":  # not a listing parameter
            assert_refused(api.http.get("/v1/assets", params={field: value}), field=field)
    at_limit = {"ids": ["a" * fields.MAX_ID_CHARS], "tags": ["t" * fields.MAX_TAG_INPUT_CHARS]}
    assert api.http.post("/v1/search", json={"filters": at_limit}).status_code == 200
    # The tag routes search by their path's tag: one no asset can have is simply not found.
    for name in (long_tag, "t" * 5000):
        assert_refused(api.http.delete(f"/v1/tags/{name}"), status=404)
        assert_refused(api.http.patch(f"/v1/tags/{name}", json={"name": "short"}), status=404)


def test_a_client_hanging_up_mid_upload_is_no_unhandled_error(
    api: Api, live: tuple[str, Container], caplog: pytest.LogCaptureFixture
) -> None:
    base_url, container = live
    host, port = base_url.removeprefix("http://").split(":")
    body = (
        b'--hh\r\nContent-Disposition: form-data; name="file"; filename="h.png"\r\n'
        b"\r\n" + png((7, 7, 7), size=(200, 200))[:500]
    )
    head = (
        f"POST /v1/assets HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {api.key}\r\n"
        "Content-Type: multipart/form-data; boundary=hh\r\n"
        "Content-Length: 100000\r\n\r\n"
    ).encode()
    caplog.set_level(logging.INFO)
    before = count_assets(container)
    with socket.create_connection((host, int(port))) as conn:
        conn.sendall(head + body)
    spool = container.settings.data_dir / "tmp" / "uploads"
    for _ in range(100):  # the server notices the hang-up asynchronously
        if any("client disconnected" in r.getMessage() for r in caplog.records):
            break
        time.sleep(0.05)
    assert any(
        "client disconnected" in r.getMessage() and r.levelno == logging.INFO
        for r in caplog.records
    )
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not list(spool.glob("*.part"))
    assert count_assets(container) == before
    assert api.search(limit=1).status_code == 200  # the server stays usable


def test_json_bodies_that_are_not_text_are_422_and_change_nothing(api: Api) -> None:
    asset = api.upload("u.png", png((7, 7, 8), pattern=4)).json()
    for method, url in (
        ("POST", "/v1/search"),
        ("PATCH", f"/v1/assets/{asset['id']}"),
        ("POST", "/v1/collections"),
    ):
        response = api.http.request(
            method,
            url,
            content=b'{"name": "\xff\xfe"}',
            headers={"Content-Type": "application/json"},
        )
        assert_refused(response, field="not UTF-8")
    assert api.http.get(f"/v1/assets/{asset['id']}").json()["revision"] == asset["revision"]


def test_json_in_utf16_gets_the_same_guards_as_utf8(api: Api) -> None:
    """JSON may come in UTF-16 (json.loads detects it): the depth, surrogate and number
    guards see its text, not its bytes — a byte 0x22 inside a character (`Ģ` is 22 01)
    must not hide brackets from the depth scan, nor a NaN go by unseen."""
    deep = '{"q": "\u0122' + "\u3131" * 10 + '", "x": ' + "[" * 5000 + "]" * 5000 + "}"
    for text in (deep, '{"filters": {"tags": ["\\ud800"]}}', '{"limit": NaN}'):
        response = api.http.post(
            "/v1/search",
            content=text.encode("utf-16-le"),
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 422, (text[:40], response.text)
    # Not declared JSON: not parsed as JSON by the route either, and no guard trips on it.
    plain = api.http.post(
        "/v1/search", content=deep.encode("utf-16-le"), headers={"Content-Type": "text/plain"}
    )
    assert plain.status_code == 422, plain.text
    ok = api.http.post(
        "/v1/search",
        content='{"q": "fox"}'.encode("utf-16"),
        headers={"Content-Type": "application/json"},
    )
    assert ok.status_code == 200, ok.text
