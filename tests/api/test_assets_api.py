"""The asset routes over HTTP against a live server (embedded mode)."""

from __future__ import annotations

import json

from PIL import Image

from tests.api.conftest import png
from tests.conftest import Api


def test_upload_returns_the_acknowledged_asset(api: Api) -> None:
    response = api.upload(
        "fox.png",
        png((200, 60, 30)),
        name="Red fox",
        tags="Animal, Winter",
        prompt="a red fox in the snow",
        metadata=json.dumps({"model": "sdxl", "provider": "local", "seed": 7}),
    )
    assert response.status_code == 201, response.text
    asset = response.json()
    assert asset["name"] == "Red fox"
    assert asset["type"] == "image"
    assert asset["mime"] == "image/png"
    assert asset["tags"] == ["animal", "winter"]
    assert asset["status"] == "ready"
    assert asset["duplicate_of"] is None
    assert asset["generation"]["model"] == "sdxl"
    assert asset["generation"]["seed"] == 7
    assert asset["source"] == "generation"
    assert len(asset["sha256"]) == 64 and asset["size_bytes"] > 0
    assert asset["media"]["width"] == 64
    assert response.headers["etag"] == f'"r{asset["revision"]}"'
    fetched = api.http.get(f"/v1/assets/{asset['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["id"] == asset["id"]


def test_repeated_tag_fields_are_one_tag_each_and_one_field_is_comma_split(api: Api) -> None:
    """The multipart wire format of `tags`: repeated fields keep a comma inside a tag (as
    PATCH does); a single field stays comma-separated for curl (`-F tags=a,b`)."""
    repeated = api.http.post(
        "/v1/assets",
        params={"wait": "false"},
        files={"file": ("t1.png", png((10, 90, 30), pattern=31))},
        data={"tags": ["Red, Blue", "green"]},
    )
    assert repeated.status_code == 201, repeated.text
    assert repeated.json()["tags"] == ["red, blue", "green"]
    single = api.upload("t2.png", png((10, 90, 31), pattern=32), wait=False, tags="red,blue")
    assert single.status_code == 201, single.text
    assert single.json()["tags"] == ["red", "blue"]


def test_same_bytes_again_are_marked_as_duplicate(api: Api) -> None:
    data = png((10, 200, 10), pattern=3)
    first = api.upload("a.png", data).json()
    second = api.upload("b.png", data).json()
    assert second["duplicate_of"] == first["id"]
    assert second["id"] != first["id"]


def test_patch_with_if_match_and_stale_etag(api: Api) -> None:
    created = api.upload("p.png", png((1, 2, 3))).json()
    etag = f'"r{created["revision"]}"'
    ok = api.http.patch(
        f"/v1/assets/{created['id']}",
        json={"tags": ["Edited"]},
        headers={"If-Match": etag},
        params={"wait": "true"},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["tags"] == ["edited"]
    stale = api.http.patch(
        f"/v1/assets/{created['id']}", json={"name": "x"}, headers={"If-Match": etag}
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    assert api.http.get(f"/v1/assets/{created['id']}").json()["name"] == "p.png"


def test_patch_rejects_unknown_fields(api: Api) -> None:
    created = api.upload("q.png", png((4, 5, 6))).json()
    response = api.http.patch(f"/v1/assets/{created['id']}", json={"sha256": "0" * 64})
    assert response.status_code == 422
    assert response.json()["status"] == 422


def test_delete_moves_to_trash_and_restore_brings_back(api: Api) -> None:
    created = api.upload("trash.png", png((9, 9, 9)), prompt="zanzibar lighthouse").json()
    gone = api.http.delete(f"/v1/assets/{created['id']}", params={"wait": "true"})
    assert gone.status_code == 200
    assert gone.json()["status"] == "deleted"
    assert api.search(mode="keyword", q="zanzibar").json()["total"] == 0
    trash = api.search(mode="keyword", q="zanzibar", filters={"status": ["deleted"]}).json()
    assert [i["asset"]["id"] for i in trash["items"]] == [created["id"]]
    back = api.http.post(f"/v1/assets/{created['id']}/restore", params={"wait": "true"})
    assert back.json()["status"] == "ready"
    assert api.search(mode="keyword", q="zanzibar").json()["total"] == 1


def test_content_is_served_with_etag_range_and_nosniff(api: Api) -> None:
    data = png((50, 60, 70), pattern=5)
    created = api.upload("c.png", data).json()
    url = f"/v1/assets/{created['id']}/content"
    full = api.http.get(url)
    assert full.content == data
    assert full.headers["content-type"] == "image/png"
    assert full.headers["x-content-type-options"] == "nosniff"
    etag = full.headers["etag"]
    assert api.http.get(url, headers={"If-None-Match": etag}).status_code == 304
    part = api.http.get(url, headers={"Range": "bytes=1-3"})
    assert part.status_code == 206
    assert part.content == data[1:4]
    assert part.headers["content-range"] == f"bytes 1-3/{len(data)}"
    suffix = api.http.get(url, headers={"Range": "bytes=-4"})
    assert suffix.content == data[-4:]
    beyond = api.http.get(url, headers={"Range": f"bytes={len(data) + 10}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(data)}"


def test_thumbnails_are_webp_of_the_requested_size(api: Api) -> None:
    created = api.upload("big.png", png((120, 30, 200), size=(900, 300))).json()
    small = api.http.get(f"/v1/assets/{created['id']}/thumbnail", params={"size": "small"})
    assert small.status_code == 200
    assert small.headers["content-type"] == "image/webp"
    import io

    image = Image.open(io.BytesIO(small.content))
    assert max(image.size) == 150
    assert "max-age" in small.headers["cache-control"]
    bad = api.http.get(f"/v1/assets/{created['id']}/thumbnail", params={"size": "huge"})
    assert bad.status_code == 422


def test_svg_is_served_as_a_sandboxed_attachment(api: Api) -> None:
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" '
        b'onload="alert(1)"><script>alert(2)</script><rect width="10" height="10"/></svg>'
    )
    created = api.upload("logo.svg", svg)
    assert created.status_code == 201, created.text
    asset = created.json()
    assert asset["type"] == "logo"
    response = api.http.get(f"/v1/assets/{asset['id']}/content")
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_another_workspace_gets_404_everywhere(api: Api, other: Api) -> None:
    asset = api.upload("mine.png", png((77, 1, 1)), prompt="secret xylophone").json()
    asset_id = asset["id"]
    for method, path in [
        ("GET", f"/v1/assets/{asset_id}"),
        ("GET", f"/v1/assets/{asset_id}/content"),
        ("GET", f"/v1/assets/{asset_id}/thumbnail"),
        ("GET", f"/v1/assets/{asset_id}/similar"),
        ("GET", f"/v1/assets/{asset_id}/duplicates"),
        ("DELETE", f"/v1/assets/{asset_id}"),
        ("POST", f"/v1/assets/{asset_id}/restore"),
    ]:
        response = other.http.request(method, path)
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    patch = other.http.patch(f"/v1/assets/{asset_id}", json={"name": "stolen"})
    assert patch.status_code == 404
    assert other.search(mode="keyword", q="xylophone").json()["total"] == 0
    assert (
        other.search(mode="keyword", q="xylophone", filters={"ids": [asset_id]}).json()["total"]
        == 0
    )
    assert api.http.get(f"/v1/assets/{asset_id}").json()["name"] == "mine.png"


def test_missing_or_bad_keys_are_401(api: Api) -> None:
    import httpx

    anonymous = httpx.get(api.base_url + "/v1/assets/" + "0" * 32)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    bad = httpx.get(
        api.base_url + "/v1/assets/" + "0" * 32, headers={"Authorization": "Bearer alk_nope"}
    )
    assert bad.status_code == 401
    assert bad.json()["title"] == "Unauthorized"


def test_health_ready_and_openapi(api: Api) -> None:
    assert api.http.get("/v1/health").json() == {"status": "ok"}
    ready = api.http.get("/v1/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["store"] == "ok"
    spec = api.http.get("/openapi.json").json()
    assert "/v1/search" in spec["paths"]
    assert "/v1/assets/{asset_id}/content" in spec["paths"]


def test_duplicates_lists_exact_and_near_copies(api: Api) -> None:
    from tests.support import media_samples

    original = media_samples.png_bytes(size=(256, 192), seed=11)
    first = api.upload("orig.png", original).json()
    copy = api.upload("copy.png", original).json()
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(original)).convert("RGB").resize((240, 180))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    near = api.upload("near.jpg", buffer.getvalue()).json()
    other = api.upload("other.png", media_samples.png_bytes(size=(256, 192), seed=99)).json()
    response = api.http.get(f"/v1/assets/{first['id']}/duplicates")
    assert response.status_code == 200, response.text
    body = response.json()
    assert [a["id"] for a in body["exact"]] == [copy["id"]]
    near_ids = [n["asset"]["id"] for n in body["near"]]
    assert near["id"] in near_ids
    assert other["id"] not in near_ids
    assert body["near"][0]["phash_distance"] <= 10
