"""The README's screenshots (docs/screenshots/), taken from the real UI on the sample library.

Skipped unless `ASSETLENS_DOC_SCREENSHOTS=1`: `ASSETLENS_DOC_SCREENSHOTS=1 pytest
tests/e2e/test_doc_screenshots.py` refreshes them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import sign_in
from tests.e2e.library import Library
from tests.support.media_samples import png_bytes

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        os.environ.get("ASSETLENS_DOC_SCREENSHOTS") != "1",
        reason="set ASSETLENS_DOC_SCREENSHOTS=1 to refresh docs/screenshots",
    ),
]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def shoot(page: Page, name: str) -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)
    page.wait_for_timeout(300)  # thumbnails decoded, toasts gone
    page.screenshot(path=str(DOCS / name))
    assert (DOCS / name).stat().st_size > 10_000


def test_browse_light(page: Page, library: Library) -> None:
    sign_in(page, library, "/?model=sdxl&model=flux-dev&sort=name:asc")
    expect(page.locator("#chips .chip")).to_have_count(2)
    shoot(page, "browse-light.png")


def test_detail_dark_with_versions_and_lineage(page: Page, library: Library) -> None:
    parent = library.ids["fox-snow.png"]
    child = library.api.upload(
        "fox-snow-upscaled.png",
        png_bytes((384, 288), seed=11),
        prompt="a red fox in the snow at dawn, upscaled 2x",
        metadata=json.dumps({"source_asset_id": parent, "model": "sdxl", "cost": 0.02}),
    )
    child.raise_for_status()
    child_id = child.json()["id"]
    library.api.http.post(
        f"/v1/assets/{child_id}/versions",
        files={"file": ("fox-v2.png", png_bytes((384, 288), seed=12))},
        data={"change_description": "fixed the ear"},
    ).raise_for_status()
    page.emulate_media(color_scheme="dark")
    sign_in(page, library, f"/?asset={child_id}")
    expect(page.locator("#lineage-ancestors")).to_contain_text("fox-snow.png")
    expect(page.locator("#version-list .version")).to_have_count(2)
    page.locator("#detail").evaluate("(el) => el.scrollTo(0, 380)")
    shoot(page, "detail-dark.png")


def test_collection_and_share(page: Page, library: Library) -> None:
    made = library.api.http.post(
        "/v1/collections",
        json={"name": "Winter campaign", "description": "Key visuals for the December newsletter"},
    ).json()
    path = f"/v1/collections/{made['id']}"
    ids = [library.ids[n] for n in ("fox-snow.png", "owl-night.png", "lake.png", "castle.png")]
    library.api.http.post(f"{path}/items", json={"asset_ids": ids}).raise_for_status()
    library.api.http.put(f"{path}/shares/agency", json={"role": "edit"}).raise_for_status()
    library.api.http.put(f"{path}/shares/client", json={"role": "view"}).raise_for_status()
    sign_in(page, library, f"/?collection={made['id']}")
    expect(page.locator("#results .tile")).to_have_count(4)
    page.get_by_role("button", name="Share…").click()
    expect(page.locator("#share-list li")).to_have_count(2)
    shoot(page, "collection-share.png")


def test_stats_dark(page: Page, library: Library) -> None:
    for name, cost in (("castle.png", 0.04), ("lake.png", 0.12), ("robot.png", 0.9)):
        library.api.http.patch(
            f"/v1/assets/{library.ids[name]}", json={"metadata": {"cost": cost}}
        ).raise_for_status()
    page.emulate_media(color_scheme="dark")
    sign_in(page, library)
    page.get_by_role("button", name="Stats").click()
    expect(page.locator("figure.chart")).to_have_count(5)
    shoot(page, "stats-dark.png")


def test_phone(page: Page, library: Library) -> None:
    page.set_viewport_size({"width": 390, "height": 780})
    sign_in(page, library)
    shoot(page, "phone.png")
