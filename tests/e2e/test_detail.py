"""The detail panel: provenance, copy, similar (503 explained), tags with If-Match, trash."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from assetlens.manifests import Manifests
from assetlens.services.index_failures import mark_failed
from tests.api.conftest import png
from tests.e2e.helpers import serious_violations, sign_in
from tests.e2e.library import SAMPLES, Library, count_model

pytestmark = pytest.mark.e2e

FOX = next(s for s in SAMPLES if s.filename == "fox-snow.png")


def open_asset(page: Page, library: Library, filename: str) -> None:
    sign_in(page, library, f"/?asset={library.ids[filename]}")
    expect(page.locator("#detail-title")).to_have_text(filename)


def test_detail_shows_provenance_and_copies_the_prompt(page: Page, library: Library) -> None:
    open_asset(page, library, FOX.filename)
    detail = page.locator("#detail")
    expect(detail.locator(".prompt-text").first).to_have_text(FOX.prompt)
    expect(detail.get_by_role("button", name=FOX.model, exact=True)).to_be_visible()
    detail.get_by_role("button", name="Copy prompt").click()
    expect(page.locator("#toast")).to_contain_text("Prompt copied")
    assert page.evaluate("navigator.clipboard.readText()") == FOX.prompt
    assert serious_violations(page) == []


def test_filter_by_this_model_and_search_this_prompt(page: Page, library: Library) -> None:
    open_asset(page, library, FOX.filename)
    page.locator("#detail").get_by_role("button", name=FOX.model, exact=True).click()
    expect(page.locator("#summary")).to_have_text(f"{count_model(FOX.model)} assets")
    expect(page.locator("#detail")).to_be_hidden()
    page.goto(f"/?asset={library.ids[FOX.filename]}")
    page.locator("#detail").get_by_role("button", name="Search this prompt").click()
    expect(page.locator("#q")).to_have_value(FOX.prompt)
    expect(page.locator("#results .tile").first).to_contain_text(FOX.filename)


def test_find_similar_without_a_model_explains_the_503(page: Page, library: Library) -> None:
    open_asset(page, library, FOX.filename)
    page.get_by_role("button", name="Find similar").click()
    notice = page.locator('[data-related="similar"] .notice')
    expect(notice).to_contain_text(re.compile("service unavailable", re.IGNORECASE))
    expect(notice).to_contain_text("visual search")


def test_edit_tags_and_recover_from_a_concurrent_edit(page: Page, library: Library) -> None:
    asset_id = library.ids["robot.png"]
    open_asset(page, library, "robot.png")
    page.get_by_label("New tag").fill("metal")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#tag-list")).to_contain_text("metal")
    assert "metal" in library.api.http.get(f"/v1/assets/{asset_id}").json()["tags"]
    # Someone else edits the asset; our next edit is refused (412), explained, not lost.
    fresh = library.api.http.get(f"/v1/assets/{asset_id}").json()
    changed = library.api.http.patch(
        f"/v1/assets/{asset_id}",
        json={"description": "by Ana"},
        headers={"If-Match": f'"r{fresh["revision"]}"'},
    )
    assert changed.status_code == 200
    page.get_by_label("New tag").fill("garden")
    page.get_by_role("button", name="Add", exact=True).click()
    conflict = page.locator("#conflict")
    expect(conflict).to_contain_text("Someone else changed this asset")
    expect(conflict).to_contain_text("add tag garden")
    page.get_by_role("button", name="Re-apply my edit").click()
    expect(page.locator("#tag-list")).to_contain_text("garden")
    after = library.api.http.get(f"/v1/assets/{asset_id}").json()
    assert {"metal", "garden"} <= set(after["tags"])
    assert after["description"] == "by Ana"
    page.get_by_role("button", name="Remove tag metal").click()
    expect(page.locator("#tag-list")).not_to_contain_text("metal")


def test_favourite_star(page: Page, library: Library) -> None:
    asset_id = library.ids["lake.png"]
    open_asset(page, library, "lake.png")
    star = page.locator("#detail").get_by_role("button", name="Favourite")
    star.click()
    expect(page.locator("#detail").get_by_role("button", name="Favourite")).to_have_attribute(
        "aria-pressed", "true"
    )
    assert library.api.http.get(f"/v1/assets/{asset_id}").json()["favorite"] is True
    expect(page.locator(f"#tile-{asset_id} .tile-star")).to_be_visible()


def test_delete_and_restore(page: Page, library: Library) -> None:
    asset_id = library.ids["castle.png"]
    open_asset(page, library, "castle.png")
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("button", name="Restore")).to_be_visible()
    expect(page.locator("#detail")).to_contain_text("in the trash")
    assert library.api.http.get(f"/v1/assets/{asset_id}").json()["status"] == "deleted"
    page.get_by_role("button", name="Restore").click()
    expect(page.get_by_role("button", name="Delete")).to_be_visible()
    assert library.api.http.get(f"/v1/assets/{asset_id}").json()["status"] != "deleted"


def test_a_failed_asset_says_why_indexing_gave_up(page: Page, library: Library) -> None:
    uploaded = library.api.upload("stuck.png", png((120, 5, 90)))
    assert uploaded.status_code == 201, uploaded.text
    asset_id = uploaded.json()["id"]
    reason = "embedding failed (RuntimeError); see the indexer log"
    mark_failed(Manifests(library.container.store), "studio", asset_id, reason, revision=None)
    sign_in(page, library, f"/?asset={asset_id}")
    expect(page.locator("#index-error")).to_have_text(f"Indexing gave up: {reason}")
