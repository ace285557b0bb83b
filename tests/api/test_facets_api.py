"""POST /v1/search facets over HTTP: disjunctive mode, favourites, month and size filters."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from assetlens.bootstrap import Container
from assetlens.domain import Asset
from tests.api.conftest import png
from tests.conftest import Api


def star(container: Container, workspace: str, asset_id: str) -> None:
    """Mark an asset as a favourite in the store and wait until search sees it. (The
    favourite PATCH belongs to another change; this goes through the same manifest CAS.)"""

    def mutate(asset: Asset) -> Asset:
        asset.favorite = True
        return asset

    container.assets.manifests.update(workspace, asset_id, mutate)
    container.queue.enqueue(workspace, asset_id)
    deadline = time.monotonic() + 30
    while not container.assets.visibility.indexed(workspace, asset_id)[1]:
        assert time.monotonic() < deadline, "favourite was not indexed in time"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def library(api: Api, live: tuple[str, Container]) -> dict[str, str]:
    """Four images in workspace alpha (two favourites); returns name → id."""
    items = {
        "red": ((220, 30, 30), "cat", "sdxl"),
        "blue": ((30, 30, 220), "cat,dog", "flux"),
        "green": ((30, 220, 30), "dog", "sd15"),
        "yellow": ((220, 220, 30), "bird", "sdxl"),
    }
    ids = {}
    for name, (colour, tags, model) in items.items():
        response = api.upload(
            f"{name}.png", png(colour, pattern=3), tags=tags, metadata=json.dumps({"model": model})
        )
        assert response.status_code == 201, response.text
        ids[name] = response.json()["id"]
    for name in ("red", "green"):
        star(live[1], "alpha", ids[name])
    return ids


def ids_of(body: dict[str, Any]) -> set[str]:
    return {item["asset"]["id"] for item in body["items"]}


def counts(body: dict[str, Any], facet: str) -> dict[str, int]:
    return {b["value"]: b["count"] for b in body["facets"][facet]}


def test_disjunctive_facet_keeps_the_other_values_of_its_field(
    api: Api, library: dict[str, str]
) -> None:
    request: dict[str, Any] = {"filters": {"model": ["sdxl", "flux"]}, "facets": ["model", "tags"]}
    body = api.search(**request, facet_mode="disjunctive").json()
    assert ids_of(body) == {library["red"], library["blue"], library["yellow"]}
    assert body["total"] == 3
    assert counts(body, "model") == {"sdxl": 2, "flux": 1, "sd15": 1}
    assert counts(body, "tags") == {"cat": 2, "dog": 1, "bird": 1}  # narrowed by model
    conjunctive = api.search(**request).json()
    assert ids_of(conjunctive) == ids_of(body)
    assert counts(conjunctive, "model") == {"sdxl": 2, "flux": 1}
    assert counts(conjunctive, "tags") == counts(body, "tags")


def test_favourite_filter_and_facet(api: Api, library: dict[str, str]) -> None:
    starred = api.search(filters={"favorite": True}, facets=["favorite", "model"]).json()
    assert ids_of(starred) == {library["red"], library["green"]}
    assert all(item["asset"]["favorite"] for item in starred["items"])
    assert counts(starred, "favorite") == {"true": 2}
    assert counts(starred, "model") == {"sdxl": 1, "sd15": 1}
    plain = api.search(filters={"favorite": False}).json()
    assert ids_of(plain) == {library["blue"], library["yellow"]}
    both = api.search(
        filters={"favorite": True}, facets=["favorite", "model"], facet_mode="disjunctive"
    ).json()
    assert ids_of(both) == ids_of(starred)
    assert counts(both, "favorite") == {"true": 2, "false": 2}
    assert counts(both, "model") == {"sdxl": 1, "sd15": 1}


def test_month_and_size_filters_take_facet_values(api: Api, library: dict[str, str]) -> None:
    body = api.search(facets=["created", "size"]).json()
    (month,) = counts(body, "created")
    assert month == datetime.now(UTC).strftime("%Y-%m")
    assert counts(body, "size") == {"<100KB": 4}
    assert ids_of(api.search(filters={"created_month": [month]}).json()) == set(library.values())
    assert ids_of(api.search(filters={"created_month": ["2001-01"]}).json()) == set()
    assert ids_of(api.search(filters={"size_range": ["<100KB"]}).json()) == set(library.values())
    assert ids_of(api.search(filters={"size_range": ["1MB-10MB", ">=100MB"]}).json()) == set()


def test_other_workspace_sees_none_of_it(other: Api, library: dict[str, str]) -> None:
    body = other.search(
        filters={"favorite": True}, facets=["favorite", "model"], facet_mode="disjunctive"
    ).json()
    assert body["total"] == 0
    assert body["items"] == []
    assert body["facets"] == {"favorite": [], "model": []}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"facet_mode": "sideways"}, "facet_mode"),
        ({"facets": ["favourite"]}, "facets"),
        ({"filters": {"created_month": ["2026-13"]}}, "created_month"),
        ({"filters": {"created_month": ["26-11"]}}, "created_month"),
        ({"filters": {"size_range": ["huge"]}}, "size_range"),
        ({"filters": {"favorite": "perhaps"}}, "favorite"),
    ],
)
def test_bad_facet_input_is_a_422_problem(
    api: Api, library: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = api.search(**body)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.json()["detail"]
