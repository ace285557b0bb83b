"""Browse in the browser: sign in, search, multi-select facets, the URL, keyboard, detail."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import facet_counts, serious_violations, sign_in, tile_names
from tests.e2e.library import SAMPLES, Library, count_model

pytestmark = pytest.mark.e2e


def test_sign_in_shows_results_and_is_accessible(page: Page, library: Library) -> None:
    page.goto("/")
    expect(page.get_by_label("API key")).to_be_visible()
    assert serious_violations(page) == []
    sign_in(page, library)
    expect(page.locator("#summary")).to_have_text(f"{len(library.ids)} assets")
    expect(page.locator("#workspace")).to_have_text("studio")
    # The key went into the sign-in body only: not the URL, not any storage.
    assert library.key not in page.url
    stored = page.evaluate(
        "JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage})"
    )
    assert library.key not in stored
    assert library.key not in page.content()
    assert serious_violations(page) == []


def test_wrong_key_is_refused(page: Page, library: Library) -> None:
    page.goto("/")
    page.get_by_label("API key").fill("alk_not-a-real-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signin-error")).to_contain_text("not accepted")
    expect(page.locator("#app")).to_be_hidden()


def test_search_by_prompt_word(page: Page, library: Library) -> None:
    sign_in(page, library)
    page.get_by_role("searchbox", name="Search").fill("fox")
    page.get_by_role("button", name="Search", exact=True).click()
    foxes = sorted(s.filename for s in SAMPLES if "fox" in s.prompt)
    expect(page.locator("#summary")).to_have_text(f"{len(foxes)} assets")
    assert sorted(tile_names(page)) == foxes
    assert "q=fox" in page.url


def test_two_values_of_one_facet_keep_the_counts(page: Page, library: Library) -> None:
    sign_in(page, library)
    before = facet_counts(page, "model")
    assert before == {m: count_model(m) for m in ("sdxl", "flux-dev", "sd15")}
    page.locator('input[data-facet="model"][data-value="sdxl"]').check()
    expect(page.locator("#summary")).to_have_text(f"{count_model('sdxl')} assets")
    # Disjunctive: the other models and their counts stay visible, to add to the selection.
    assert facet_counts(page, "model") == before
    page.locator('input[data-facet="model"][data-value="flux-dev"]').check()
    both = count_model("sdxl") + count_model("flux-dev")
    expect(page.locator("#summary")).to_have_text(f"{both} assets")
    assert facet_counts(page, "model") == before
    expect(page.locator("#chips .chip")).to_have_count(2)
    assert re.search(r"model=sdxl&model=flux-dev", page.url)
    # Other facets do narrow to the selection (sampler counts only sdxl + flux-dev images).
    samplers = facet_counts(page, "sampler")
    assert sum(samplers.values()) == both
    # Back drops the last value; a chip removes one.
    page.go_back()
    expect(page.locator("#summary")).to_have_text(f"{count_model('sdxl')} assets")
    page.get_by_role("button", name="Remove filter Model: sdxl").click()
    expect(page.locator("#summary")).to_have_text(f"{len(library.ids)} assets")


def test_a_shared_link_restores_the_whole_state(page: Page, library: Library) -> None:
    asset_id = library.ids["owl-night.png"]
    sign_in(page, library, f"/?q=owl&model=sdxl&sort=name:asc&asset={asset_id}")
    expect(page.locator("#q")).to_have_value("owl")
    expect(page.locator("#sort")).to_have_value("name:asc")
    expect(page.locator("#detail-title")).to_have_text("owl-night.png")
    assert tile_names(page) == ["owl-night.png"]


def test_keyboard_opens_and_closes_and_shift_click_selects(page: Page, library: Library) -> None:
    sign_in(page, library, "/?sort=name:asc")
    names = sorted(library.ids)
    expect(page.locator("#results .tile").first).to_contain_text(names[0])
    page.locator("#results .tile").first.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    expect(page.locator("#detail-title")).to_have_text(names[1])
    assert f"asset={library.ids[names[1]]}" in page.url
    page.keyboard.press("Escape")
    expect(page.locator("#detail")).to_be_hidden()
    assert "asset=" not in page.url
    # Shift-click selects a range; the bulk bar offers actions for it.
    tiles = page.locator("#results .tile")
    tiles.nth(0).locator(".tile-check").click()
    tiles.nth(3).click(modifiers=["Shift"])
    expect(page.locator("#bulkbar .count")).to_have_text("4 selected")
    expect(page.locator("#results .tile.selected")).to_have_count(4)


def test_bulk_tag_the_selection(page: Page, library: Library) -> None:
    sign_in(page, library, "/?tags=landscape")
    tiles = page.locator("#results .tile")
    expect(tiles).to_have_count(2)
    tiles.nth(0).locator(".tile-check").click()
    tiles.nth(1).click(modifiers=["Shift"])
    page.locator("#bulk-tag").fill("scenery")
    page.locator("#bulkbar").get_by_role("button", name="Tag").click()
    expect(page.locator("#toast")).to_contain_text("Tag: 2 done")
    for name in ("castle.png", "lake.png"):
        tags = library.api.http.get(f"/v1/assets/{library.ids[name]}").json()["tags"]
        assert "scenery" in tags


def test_visual_modes_are_greyed_without_a_model(page: Page, library: Library) -> None:
    sign_in(page, library)
    expect(page.locator("#mode-semantic")).to_be_disabled()
    expect(page.locator("#mode-hybrid")).to_be_disabled()
    expect(page.locator("#visual-note")).to_contain_text("CLIP model")


def test_phone_width_has_no_sideways_scroll(page: Page, library: Library) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    sign_in(page, library)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("button", name="Filters").click()
    expect(page.locator("#folders")).to_be_in_viewport()
    # The drawer scrolls to the facets below the folders and collections.
    page.locator('fieldset[data-facet="model"]').scroll_into_view_if_needed()
    expect(page.locator('fieldset[data-facet="model"]')).to_be_in_viewport()
