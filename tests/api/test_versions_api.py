"""The versions routes over HTTP, on both backends."""

from __future__ import annotations

import io
import random
import threading
from typing import Any

import pytest
from PIL import Image

from assetlens.config import Settings
from tests.api.conftest import png
from tests.conftest import Api


def new_asset(api: Api, shade: int) -> dict[str, Any]:
    response = api.upload(f"v{shade}.png", png((shade, 90, 140), pattern=shade % 7))
    assert response.status_code == 201, response.text
    asset: dict[str, Any] = response.json()
    return asset


def new_version(api: Api, asset_id: str, data: bytes, wait: bool = True, **fields: str) -> Any:
    return api.http.post(
        f"/v1/assets/{asset_id}/versions",
        params={"wait": str(wait).lower()},
        files={"file": ("next.png", data)},
        data=fields,
    )


def test_upload_history_download_rollback_diff_and_delete(api: Api) -> None:
    original_bytes = png((12, 90, 140), (64, 64))
    created = api.upload("logo.png", original_bytes)
    assert created.status_code == 201
    asset = created.json()
    second_bytes = png((200, 90, 140), (96, 48))
    response = new_version(api, asset["id"], second_bytes, change_description="wider")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["version"]["number"] == 2 and body["version"]["current"] is True
    assert body["version"]["change_description"] == "wider"
    assert body["asset"]["version"] == 2
    assert body["asset"]["status"] == "ready"  # re-analysed: type metadata follows
    assert body["asset"]["media"]["width"] == 96
    assert body["asset"]["sha256"] != asset["sha256"]

    history = api.http.get(f"/v1/assets/{asset['id']}/versions").json()
    assert history["current"] == 2 and history["max_kept"] == 10
    assert [(v["number"], v["current"]) for v in history["items"]] == [(2, True), (1, False)]
    assert history["items"][1]["media"]["width"] == 64

    assert api.http.get(f"/v1/assets/{asset['id']}/versions/1/content").content == original_bytes
    assert api.http.get(f"/v1/assets/{asset['id']}/content").content == second_bytes
    one = api.http.get(f"/v1/assets/{asset['id']}/versions/1").json()
    assert one["sha256"] == asset["sha256"] and one["current"] is False

    diff = api.http.get(
        f"/v1/assets/{asset['id']}/versions/diff", params={"from": 1, "to": 2}
    ).json()
    changed = {c["field"]: (c["before"], c["after"]) for c in diff["changes"]}
    assert changed["media.width"] == (64, 96)
    assert "sha256" in changed

    rolled = api.http.post(
        f"/v1/assets/{asset['id']}/versions/1/rollback",
        params={"wait": "true"},
        json={"change_description": "undo"},
    )
    assert rolled.status_code == 201, rolled.text
    assert rolled.json()["version"]["number"] == 3
    assert rolled.json()["version"]["rolled_back_from"] == 1
    assert rolled.json()["asset"]["sha256"] == asset["sha256"]
    assert api.http.get(f"/v1/assets/{asset['id']}/content").content == original_bytes

    current = api.http.delete(f"/v1/assets/{asset['id']}/versions/3")
    assert current.status_code == 409
    assert current.headers["content-type"] == "application/problem+json"
    assert api.http.delete(f"/v1/assets/{asset['id']}/versions/2").status_code == 204
    assert api.http.get(f"/v1/assets/{asset['id']}/versions/2").status_code == 404
    assert api.http.get(f"/v1/assets/{asset['id']}/versions/2/content").status_code == 404
    kept = api.http.get(f"/v1/assets/{asset['id']}/versions").json()["items"]
    assert [v["number"] for v in kept] == [3, 1]


def test_search_follows_the_current_version(api: Api) -> None:
    asset = new_asset(api, 31)
    response = new_version(api, asset["id"], png((31, 90, 140), (40, 20)))
    assert response.status_code == 201
    found = api.search(filters={"ids": [asset["id"]]}).json()["items"]
    assert [hit["asset"]["version"] for hit in found] == [2]
    assert found[0]["asset"]["media"]["width"] == 40


def test_bad_versions_input_changes_nothing(api: Api) -> None:
    asset = new_asset(api, 41)
    base = f"/v1/assets/{asset['id']}/versions"
    text = api.http.post(base, files={"file": ("note.txt", b"just a prompt")})
    assert text.status_code == 422 and "cannot be stored as type image" in text.text
    fake = api.http.post(base, files={"file": ("x.png", b"<html>not a png</html>")})
    assert fake.status_code in (415, 422)
    missing = api.http.post(base, files={"change_description": (None, "no file")})
    assert missing.status_code == 422
    long = new_version(api, asset["id"], png((1, 2, 3)), change_description="x" * 2001)
    assert long.status_code == 422 and "change_description" in long.text
    for number in ("0", "-1", "99999999999999999999999", "nan"):
        assert api.http.get(f"{base}/{number}").status_code == 422, number
    assert api.http.get(f"{base}/7").status_code == 404
    assert api.http.post(f"{base}/7/rollback").status_code == 404
    assert api.http.get(f"{base}/diff", params={"from": 1, "to": 9}).status_code == 404
    assert api.http.get(f"/v1/assets/{'0' * 32}/versions").status_code == 404
    after = api.http.get(base).json()
    assert after["current"] == 1 and [v["number"] for v in after["items"]] == [1]


def test_another_workspaces_asset_is_404_on_every_versions_route(api: Api, other: Api) -> None:
    """SECURITY.md: another workspace's id on every route (versions)."""
    asset = new_asset(api, 51)
    assert new_version(api, asset["id"], png((52, 1, 1))).status_code == 201
    base = f"/v1/assets/{asset['id']}/versions"
    answers = {
        "list": other.http.get(base),
        "create": new_version(other, asset["id"], png((53, 1, 1))),
        "get": other.http.get(f"{base}/1"),
        "content": other.http.get(f"{base}/1/content"),
        "diff": other.http.get(f"{base}/diff", params={"from": 1, "to": 2}),
        "rollback": other.http.post(f"{base}/1/rollback"),
        "delete": other.http.delete(f"{base}/1"),
    }
    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 404)
    assert [v["number"] for v in api.http.get(base).json()["items"]] == [2, 1]


def test_concurrent_version_uploads_are_numbered_without_gaps_or_duplicates(api: Api) -> None:
    """SECURITY.md: concurrent version uploads → versions numbered without gaps or
    duplicates."""
    asset = new_asset(api, 61)
    count = 6
    barrier = threading.Barrier(count)
    numbers: list[int] = []
    failures: list[str] = []

    def upload(i: int) -> None:
        barrier.wait()
        response = new_version(api, asset["id"], png((61, i * 30, 9)), wait=False)
        if response.status_code != 201:
            failures.append(response.text)
            return
        numbers.append(response.json()["version"]["number"])

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    assert sorted(numbers) == list(range(2, count + 2))
    history = api.http.get(f"/v1/assets/{asset['id']}/versions").json()
    assert history["current"] == count + 1
    assert [v["number"] for v in history["items"]] == list(range(count + 1, 0, -1))
    settled = api.http.post(
        f"/v1/assets/{asset['id']}/versions/1/rollback", params={"wait": "true"}
    )
    assert settled.json()["asset"]["status"] == "ready"  # the latest version is analysed


@pytest.mark.parametrize("route", ["versions", "rollback"])
def test_a_trashed_asset_takes_no_new_version(api: Api, route: str) -> None:
    asset = new_asset(api, 71 if route == "versions" else 72)
    deleted = api.http.delete(f"/v1/assets/{asset['id']}", params={"wait": "true"})
    assert deleted.status_code == 200
    if route == "versions":
        response = new_version(api, asset["id"], png((73, 1, 1)))
    else:
        response = api.http.post(f"/v1/assets/{asset['id']}/versions/1/rollback")
    assert response.status_code == 409
    assert api.http.get(f"/v1/assets/{asset['id']}/versions").json()["current"] == 1


def test_a_new_version_larger_than_a_json_body_is_accepted(api: Api) -> None:
    """Version uploads stream under the upload limit, like first uploads: not under the
    JSON body limit, and their bytes are never scanned as JSON."""
    asset = new_asset(api, 31)
    noise = Image.frombytes("RGB", (400, 400), random.Random(31).randbytes(400 * 400 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, format="PNG")
    data = buffer.getvalue()
    assert len(data) > Settings.model_fields["max_json_body_bytes"].default
    response = new_version(api, asset["id"], data, wait=False)
    assert response.status_code == 201, response.text
    assert api.http.get(f"/v1/assets/{asset['id']}/content").content == data
