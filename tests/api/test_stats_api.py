"""GET /v1/stats, usage counting on content routes, and cost in search — over HTTP, on
both backends."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from assetlens.bootstrap import Container
from tests.api.conftest import png
from tests.api.test_session_api import Browser
from tests.conftest import Api

Live = tuple[str, Container]
RED, BLUE, GREEN = png((220, 30, 30)), png((30, 40, 220)), png((30, 200, 40))


@pytest.fixture
def fresh(live: Live) -> Iterator[Api]:
    """A client of a workspace of its own (stats are per workspace)."""
    base_url, container = live
    client = Api(base_url, container.keys.create(f"st-{uuid.uuid4().hex[:10]}"))
    yield client
    client.http.close()


def upload(api: Api, name: str, data: bytes, **metadata: Any) -> str:
    fields = {"metadata": json.dumps(metadata)} if metadata else {}
    response = api.upload(name, data, True, **fields)
    assert response.status_code == 201, response.text
    asset_id: str = response.json()["id"]
    return asset_id


def stats(api: Api) -> dict[str, Any]:
    response = api.http.get("/v1/stats")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def used(entries: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [(e["asset"]["id"], e["asset"]["name"], e["count"]) for e in entries]


# -- library figures ------------------------------------------------------------------------


def test_stats_sum_assets_costs_storage_and_trash(fresh: Api, other: Api) -> None:
    red = upload(fresh, "red.png", RED, cost=0.04, model="sdxl", provider="replicate")
    upload(fresh, "red-copy.png", RED)  # the same file again: stored once
    blue = upload(fresh, "blue.png", BLUE, cost=1.5, model="flux", provider="bfl")
    upload(fresh, "green.png", GREEN, cost=0.25, model="sdxl", provider="replicate")
    assert fresh.http.delete(f"/v1/assets/{blue}", params={"wait": "true"}).status_code == 200
    body = stats(fresh)
    live_bytes = 2 * len(RED) + len(GREEN)
    assert body["assets"] == {
        "count": 3,
        "bytes": live_bytes,
        "by_type": [{"type": "image", "count": 3, "bytes": live_bytes}],
    }
    cost = body["cost"]
    assert (cost["total"], cost["priced_assets"]) == (0.29, 2)
    assert cost["by_type"] == [{"value": "image", "cost": 0.29, "assets": 3,
                                "priced_assets": 2}]  # fmt: skip
    assert cost["by_model"] == [{"value": "sdxl", "cost": 0.29, "assets": 2,
                                 "priced_assets": 2}]  # fmt: skip
    assert [(g["value"], g["cost"]) for g in cost["by_provider"]] == [("replicate", 0.29)]
    month = datetime.now(UTC).strftime("%Y-%m")
    assert [(g["value"], g["assets"]) for g in cost["by_month"]] == [(month, 3)]
    assert body["storage"] == {"blobs": 3, "bytes": len(RED) + len(BLUE) + len(GREEN)}
    assert body["trash"] == {"count": 1, "bytes": len(BLUE)}
    assert fresh.http.get(f"/v1/assets/{red}/content").status_code == 200
    # Another workspace sees none of it (it has no assets of its own in this module).
    theirs = stats(other)
    assert (theirs["assets"]["count"], theirs["cost"]["total"]) == (0, 0)
    assert (theirs["storage"], theirs["trash"]) == (
        {"blobs": 0, "bytes": 0},
        {"count": 0, "bytes": 0},
    )
    assert theirs["usage"]["views"] == 0


def test_storage_counts_the_blobs_kept_versions_hold(fresh: Api) -> None:
    asset = upload(fresh, "logo.png", RED)
    upload(fresh, "other.png", GREEN)
    response = fresh.http.post(
        f"/v1/assets/{asset}/versions", params={"wait": "true"}, files={"file": ("logo.png", BLUE)}
    )
    assert response.status_code == 201, response.text
    # RED now lives only in version 1; BLUE is current; GREEN is another asset's.
    assert stats(fresh)["storage"] == {"blobs": 3, "bytes": len(RED) + len(BLUE) + len(GREEN)}
    # A version holding another asset's current bytes is not counted twice.
    again = fresh.http.post(
        f"/v1/assets/{asset}/versions", params={"wait": "true"}, files={"file": ("logo.png", GREEN)}
    )
    assert again.status_code == 201, again.text
    assert stats(fresh)["storage"] == {"blobs": 3, "bytes": len(RED) + len(BLUE) + len(GREEN)}
    # Deleting version 1 frees RED.
    assert fresh.http.delete(f"/v1/assets/{asset}/versions/1").status_code == 204
    assert stats(fresh)["storage"] == {"blobs": 2, "bytes": len(BLUE) + len(GREEN)}


def test_an_empty_workspace_has_zero_stats(fresh: Api) -> None:
    body = stats(fresh)
    assert body["assets"] == {"count": 0, "bytes": 0, "by_type": []}
    assert body["cost"]["total"] == 0
    assert body["storage"] == {"blobs": 0, "bytes": 0}
    assert body["trash"] == {"count": 0, "bytes": 0}
    assert body["usage"]["views"] == body["usage"]["downloads"] == 0
    assert body["usage"]["by_day"] == []


# -- usage ----------------------------------------------------------------------------------


def test_content_fetches_count_as_views_and_downloads(fresh: Api, other: Api) -> None:
    a = upload(fresh, "alpha.png", RED)
    b = upload(fresh, "beta.png", BLUE)
    content = f"/v1/assets/{a}/content"
    for _ in range(2):
        assert fresh.http.get(content).status_code == 200
    first_bytes = fresh.http.get(content, headers={"Range": "bytes=0-9"})
    assert first_bytes.status_code == 206
    etag = first_bytes.headers["ETag"]
    # Not counted: a later range of the same fetch, a revalidation, a thumbnail, a miss.
    assert fresh.http.get(content, headers={"Range": "bytes=10-"}).status_code == 206
    assert fresh.http.get(content, headers={"If-None-Match": etag}).status_code == 304
    fresh.http.get(f"/v1/assets/{a}/thumbnail")
    assert other.http.get(content).status_code == 404
    download = fresh.http.get(f"/v1/assets/{b}/content", params={"download": "true"})
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.content == BLUE

    usage = stats(fresh)["usage"]
    assert (usage["views"], usage["downloads"]) == (3, 1)
    assert usage["by_channel"] == {
        "api": {"views": 3, "downloads": 1},
        "ui": {"views": 0, "downloads": 0},
        "signed_link": {"views": 0, "downloads": 0},
    }
    assert used(usage["most_viewed"]) == [(a, "alpha.png", 3)]
    assert used(usage["most_downloaded"]) == [(b, "beta.png", 1)]
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert usage["by_day"] == [{"day": today, "views": 3, "downloads": 1}]
    assert usage["updated_at"] is not None
    # The other workspace's failed attempt counted nowhere.
    assert all(e["asset"]["id"] != a for e in stats(other)["usage"]["most_viewed"])


def test_most_viewed_ranks_and_leaves_out_trashed_assets(fresh: Api) -> None:
    ids = {
        name: upload(fresh, f"{name}.png", data)
        for name, data in (("red", RED), ("blue", BLUE), ("green", GREEN))
    }
    for name, times in (("red", 1), ("blue", 3), ("green", 2)):
        for _ in range(times):
            assert fresh.http.get(f"/v1/assets/{ids[name]}/content").status_code == 200
    ranked = stats(fresh)["usage"]["most_viewed"]
    assert [(e["asset"]["name"], e["count"]) for e in ranked] == [
        ("blue.png", 3), ("green.png", 2), ("red.png", 1),
    ]  # fmt: skip
    assert fresh.http.delete(f"/v1/assets/{ids['blue']}").status_code == 200
    ranked = stats(fresh)["usage"]["most_viewed"]
    assert [e["asset"]["name"] for e in ranked] == ["green.png", "red.png"]
    assert stats(fresh)["usage"]["views"] == 6  # the counts themselves stay


def test_a_browser_session_counts_on_the_ui_channel(live: Live, fresh: Api) -> None:
    asset = upload(fresh, "ui.png", RED)
    workspace = live[1].keys.identify(fresh.key).workspace
    browser = Browser(live[0])
    try:
        assert browser.sign_in(live[1].keys.create(workspace, "read")).status_code == 200
        assert browser.http.get(f"/v1/assets/{asset}/content").status_code == 200
        assert browser.http.get("/v1/stats").status_code == 200
    finally:
        browser.http.close()
    channels = stats(fresh)["usage"]["by_channel"]
    assert channels["ui"] == {"views": 1, "downloads": 0}
    assert channels["api"] == {"views": 0, "downloads": 0}


def test_signed_links_count_on_their_own_channel(live: Live, fresh: Api, other: Api) -> None:
    asset = upload(fresh, "shared.png", RED)
    links = {}
    for disposition in ("inline", "attachment"):
        made = fresh.http.post(f"/v1/assets/{asset}/signed-url", json={"disposition": disposition})
        assert made.status_code == 200, made.text
        links[disposition] = made.json()["url"]
    thumbnail = fresh.http.post(f"/v1/assets/{asset}/signed-url", json={"thumbnail": "small"})
    with httpx.Client(timeout=30) as anonymous:
        assert anonymous.get(links["inline"]).status_code == 200
        assert anonymous.get(links["attachment"]).status_code == 200
        assert anonymous.get(links["inline"], headers={"Range": "bytes=5-"}).status_code == 206
        assert anonymous.get(thumbnail.json()["url"]).status_code in (200, 404)
        assert anonymous.get(links["inline"] + "x").status_code == 403
    usage = stats(fresh)["usage"]
    assert usage["by_channel"]["signed_link"] == {"views": 1, "downloads": 1}
    assert (usage["views"], usage["downloads"]) == (1, 1)
    assert stats(other)["usage"]["views"] == 0


def test_active_content_always_counts_as_a_download(fresh: Api) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect/></svg>'
    asset = upload(fresh, "logo.svg", svg)
    response = fresh.http.get(f"/v1/assets/{asset}/content")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    usage = stats(fresh)["usage"]
    assert (usage["views"], usage["downloads"]) == (0, 1)


# -- errors and access ------------------------------------------------------------------------


def test_stats_need_a_key_and_only_read_scope(live: Live, fresh: Api) -> None:
    anonymous = httpx.get(f"{live[0]}/v1/stats", timeout=30)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    workspace = live[1].keys.identify(fresh.key).workspace
    reader = Api(live[0], live[1].keys.create(workspace, "read"))
    try:
        upload(fresh, "seen.png", RED)
        assert reader.http.get("/v1/stats").json()["assets"]["count"] == 1
    finally:
        reader.http.close()


def test_openapi_documents_the_stats_route(api: Api) -> None:
    spec = api.http.get("/openapi.json").json()
    operation = spec["paths"]["/v1/stats"]["get"]
    assert operation["operationId"] == "stats_get"
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/StatsOut"
    }
    assert {"401", "403", "503"} <= set(operation["responses"])
    content = spec["paths"]["/v1/assets/{asset_id}/content"]["get"]
    assert "download" in {p["name"] for p in content["parameters"]}


# -- cost in search -----------------------------------------------------------------------------


@pytest.fixture
def priced(fresh: Api) -> dict[str, str]:
    """Three images: free, 5 cents and no cost at all."""
    return {
        "free": upload(fresh, "free.png", RED, cost=0),
        "cheap": upload(fresh, "cheap.png", BLUE, cost=0.05),
        "unknown": upload(fresh, "unknown.png", GREEN),
    }


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["asset"]["id"] for item in response.json()["items"]]


def test_cost_filters_facet_and_sort_in_search(fresh: Api, priced: dict[str, str]) -> None:
    page = fresh.search(filters={"cost_range": ["0"]}, facets=["cost"])
    assert ids(page) == [priced["free"]]
    assert page.json()["facets"]["cost"] == [{"value": "0", "count": 1}]
    disjunctive = fresh.search(
        filters={"cost_range": ["0"]}, facets=["cost"], facet_mode="disjunctive"
    )
    assert disjunctive.json()["facets"]["cost"] == [
        {"value": "0", "count": 1},
        {"value": "0.01-0.1", "count": 1},
    ]
    assert ids(fresh.search(filters={"cost_min": 0.01})) == [priced["cheap"]]
    assert ids(fresh.search(filters={"cost_max": 0.05}, sort="cost:desc")) == [
        priced["cheap"],
        priced["free"],
    ]
    # Without a cost comes last, whichever the direction.
    assert ids(fresh.search(sort="cost:asc")) == [
        priced["free"],
        priced["cheap"],
        priced["unknown"],
    ]
    assert ids(fresh.search(sort="cost:desc")) == [
        priced["cheap"],
        priced["free"],
        priced["unknown"],
    ]
    first = fresh.search(sort="cost:desc", limit=1)
    second = fresh.search(sort="cost:desc", limit=1, cursor=first.json()["next_cursor"])
    assert ids(second) == [priced["free"]]


def test_cost_filters_and_sort_in_the_listing(fresh: Api, priced: dict[str, str]) -> None:
    assert ids(fresh.http.get("/v1/assets", params={"cost_range": ["0.01-0.1", "0"],
                                                    "sort": "-cost"})) == [
        priced["cheap"], priced["free"]]  # fmt: skip
    listing = fresh.http.get(
        "/v1/assets", params={"cost_min": "0", "cost_max": "0", "facets": "cost"}
    )
    assert ids(listing) == [priced["free"]]
    assert listing.json()["facets"]["cost"] == [{"value": "0", "count": 1}]


@pytest.mark.parametrize("params", [
    {"cost_min": "-1"}, {"cost_max": "nan"}, {"cost_min": "inf"}, {"cost_range": "cheap"},
    {"cost_min": "1" + "0" * 400},
])  # fmt: skip
def test_bad_cost_filters_are_422(fresh: Api, params: dict[str, str]) -> None:
    listing = fresh.http.get("/v1/assets", params=params)
    assert listing.status_code == 422, listing.text
    (field,) = params
    assert field in listing.text


@pytest.mark.parametrize(
    "filters", [{"cost_min": -0.5}, {"cost_range": ["<1"]}, {"cost_max": "Infinity"}]
)
def test_bad_cost_filters_in_search_are_422(fresh: Api, filters: dict[str, Any]) -> None:
    response = fresh.search(filters=filters)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "metadata", ['{"cost": -1}', '{"cost": NaN}', '{"cost": Infinity}', '{"cost": "free"}']
)
def test_an_upload_with_a_bad_cost_is_refused(fresh: Api, metadata: str) -> None:
    response = fresh.upload("bad.png", RED, metadata=metadata)
    assert response.status_code == 422, response.text
    assert "cost" in response.json()["detail"]
    assert stats(fresh)["assets"]["count"] == 0
