"""The trash routes over HTTP, on both backends, and purge racing an upload."""

from __future__ import annotations

import threading
from typing import Any

from assetlens import layout
from assetlens.bootstrap import Container
from tests.api.conftest import png
from tests.conftest import Api


def trashed(api: Api, shade: int) -> dict[str, Any]:
    asset: dict[str, Any] = api.upload(f"t{shade}.png", png((shade, 20, 200))).json()
    response = api.http.delete(f"/v1/assets/{asset['id']}", params={"wait": "true"})
    assert response.status_code == 200
    return asset


def test_trash_lists_restores_and_purges(api: Api, live: tuple[str, Container]) -> None:
    store = live[1].store
    first, second = trashed(api, 11), trashed(api, 12)
    page = api.http.get("/v1/trash", params={"limit": 1}).json()
    assert page["retention_days"] == 30 and page["total"] >= 2
    assert [item["asset"]["id"] for item in page["items"]] == [second["id"]]  # newest first
    assert page["items"][0]["purge_at"] is not None
    rest = api.http.get("/v1/trash", params={"cursor": page["next_cursor"]}).json()
    assert first["id"] in [item["asset"]["id"] for item in rest["items"]]

    restored = api.http.post(f"/v1/trash/{first['id']}/restore", params={"wait": "true"})
    assert restored.status_code == 200 and restored.json()["status"] == "ready"
    not_trashed = api.http.delete(f"/v1/trash/{first['id']}")
    assert not_trashed.status_code == 409
    assert api.http.get(f"/v1/assets/{first['id']}").status_code == 200

    assert api.http.delete(f"/v1/trash/{second['id']}").status_code == 204
    assert api.http.get(f"/v1/assets/{second['id']}").status_code == 404
    assert api.http.get(f"/v1/assets/{second['id']}/content").status_code == 404
    assert not store.exists(layout.blob_key(second["sha256"]))
    assert list(store.list_keys(layout.derived_prefix(second["sha256"]))) == []
    assert api.http.delete(f"/v1/trash/{second['id']}").status_code == 404
    listed = api.http.get("/v1/trash", params={"limit": 100}).json()["items"]
    assert second["id"] not in [item["asset"]["id"] for item in listed]


def test_purging_everything_keeps_live_assets_and_shared_bytes(
    api: Api, live: tuple[str, Container]
) -> None:
    store = live[1].store
    data = png((33, 20, 200), pattern=5)
    kept = api.upload("kept.png", data).json()
    copy = api.upload("copy.png", data).json()
    assert api.http.delete(f"/v1/assets/{copy['id']}").status_code == 200
    trashed(api, 34)
    with_versions = api.upload("versioned.png", png((35, 20, 200))).json()
    response = api.http.post(
        f"/v1/assets/{with_versions['id']}/versions", files={"file": ("n.png", png((36, 20, 200)))}
    )
    version_sha = response.json()["asset"]["sha256"]
    assert api.http.delete(f"/v1/assets/{with_versions['id']}").status_code == 200

    report = api.http.delete("/v1/trash").json()
    assert report["purged"] >= 3 and report["failed"] == 0
    assert api.http.get(f"/v1/assets/{kept['id']}/content").content == data
    assert api.http.get(f"/v1/assets/{copy['id']}").status_code == 404
    assert not store.exists(layout.blob_key(version_sha))
    assert not store.exists(layout.blob_key(with_versions["sha256"]))
    assert api.http.get("/v1/trash").json()["items"] == []


def test_another_workspaces_asset_is_404_on_every_trash_route(api: Api, other: Api) -> None:
    asset = trashed(api, 51)
    assert other.http.post(f"/v1/trash/{asset['id']}/restore").status_code == 404
    assert other.http.delete(f"/v1/trash/{asset['id']}").status_code == 404
    assert asset["id"] not in [
        i["asset"]["id"] for i in other.http.get("/v1/trash").json()["items"]
    ]
    other.http.delete("/v1/trash")
    assert api.http.get(f"/v1/assets/{asset['id']}").json()["status"] == "deleted"


def race_purge_and_upload(
    api: Api, asset_id: str, data: bytes
) -> tuple[list[int], list[dict[str, Any]]]:
    """Purge a trashed asset and upload its bytes again as a new asset, at once."""
    barrier = threading.Barrier(2)
    uploaded: list[dict[str, Any]] = []
    purged: list[int] = []

    def purge() -> None:
        barrier.wait()
        purged.append(api.http.delete(f"/v1/trash/{asset_id}").status_code)

    def upload() -> None:
        barrier.wait()
        uploaded.append(api.upload("new.png", data, wait=False).json())

    threads = [threading.Thread(target=purge), threading.Thread(target=upload)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return purged, uploaded


def test_purge_racing_an_upload_of_the_same_bytes_keeps_the_new_blob(api: Api) -> None:
    """SECURITY.md: delete racing a new reference → no dangling references."""
    for round_ in range(4):
        data = png((61, round_, 200), pattern=round_)
        old = api.upload("old.png", data).json()
        assert api.http.delete(f"/v1/assets/{old['id']}").status_code == 200
        purged, uploaded = race_purge_and_upload(api, old["id"], data)
        assert purged == [204] and len(uploaded) == 1
        content = api.http.get(f"/v1/assets/{uploaded[0]['id']}/content")
        assert content.status_code == 200 and content.content == data, round_
