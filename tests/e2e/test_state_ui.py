"""The browsing state as a demanding user meets it: signing out forgets it, a link with a
bad value explains itself and can be mended, and the search box, Esc and "Clear all"
clear what they show."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, Request, expect

from tests.conftest import Api
from tests.e2e.helpers import sign_in
from tests.e2e.library import Library
from tests.support.media_samples import png_bytes

pytestmark = pytest.mark.e2e


def search_bodies(page: Page) -> list[dict[str, object]]:
    """Record the body of every POST /v1/search the page sends from now on."""
    bodies: list[dict[str, object]] = []

    def record(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/v1/search"):
            bodies.append(json.loads(request.post_data or "{}"))

    page.on("request", record)
    return bodies


def test_signing_out_forgets_the_search_and_the_open_asset(page: Page, library: Library) -> None:
    asset_id = library.ids["owl-night.png"]
    sign_in(page, library, f"/?tags=animal&asset={asset_id}")
    expect(page.locator("#detail-title")).to_have_text("owl-night.png")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API key")).to_be_visible()
    # The next person at this browser (another workspace, perhaps) starts from the library,
    # not from the last one's filters and asset id.
    assert "?" not in page.url
    sign_in(page, library)
    expect(page.locator("#summary")).to_have_text(f"{len(library.ids)} assets")
    expect(page.locator("#chips .chip")).to_have_count(0)
    expect(page.locator("#detail")).to_be_hidden()


def test_a_bad_filter_value_in_a_link_is_explained_and_removable(
    page: Page, library: Library
) -> None:
    bodies = search_bodies(page)
    sign_in_to_error(page, library, "/?size_range=huge")
    expect(page.locator("#search-error")).to_contain_text("size_range")
    # The server understood every field, it refused a value: the page keeps asking for
    # disjunctive counts and every facet (not the older servers' fallback).
    assert all(body.get("facet_mode") == "disjunctive" for body in bodies), bodies
    page.get_by_role("button", name="Remove filter Size: huge").click()
    expect(page.locator("#summary")).to_have_text(f"{len(library.ids)} assets")
    expect(page.locator("#search-error")).to_be_hidden()
    assert bodies[-1].get("facet_mode") == "disjunctive"
    assert "favorite" in bodies[-1]["facets"]  # type: ignore[operator]


def test_a_bad_month_in_a_link_shows_a_chip_not_a_script_error(
    page: Page, library: Library
) -> None:
    sign_in_to_error(page, library, "/?created_month=2026-13")
    expect(page.locator("#search-error")).to_contain_text("created_month")
    chip = page.get_by_role("button", name="Remove filter Created: 2026-13")
    expect(chip).to_be_visible()
    chip.click()
    expect(page.locator("#summary")).to_have_text(f"{len(library.ids)} assets")


def sign_in_to_error(page: Page, library: Library, path: str) -> None:
    """Sign in on a link whose search the server refuses."""
    page.goto(path)
    page.get_by_label("API key").fill(library.key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#search-error")).to_be_visible()


def test_emptying_the_search_box_shows_everything_again(page: Page, library: Library) -> None:
    sign_in(page, library, "/?q=fox")
    expect(page.locator("#summary")).to_have_text("3 assets")
    box = page.get_by_role("searchbox", name="Search")
    box.focus()
    # Esc in a search field (like its clear button) empties it: the query goes with it.
    page.keyboard.press("Escape")
    expect(box).to_have_value("")
    expect(page.locator("#summary")).to_have_text(f"{len(library.ids)} assets")
    assert "q=" not in page.url


def test_escape_clears_the_selection(page: Page, library: Library) -> None:
    sign_in(page, library)
    tiles = page.locator("#results .tile")
    tiles.nth(0).locator(".tile-check").click()
    tiles.nth(2).click(modifiers=["Shift"])
    expect(page.locator("#bulkbar .count")).to_have_text("3 selected")
    page.keyboard.press("Escape")
    expect(page.locator("#bulkbar")).to_be_hidden()
    expect(page.locator("#results .tile.selected")).to_have_count(0)
    # With nothing selected, a click opens the asset again.
    tiles.nth(1).click()
    expect(page.locator("#detail")).to_be_visible()


def test_clear_all_removes_every_filter_but_keeps_the_query(page: Page, library: Library) -> None:
    sign_in(page, library, "/?q=fox&tags=animal&model=sdxl&model=sd15")
    expect(page.locator("#chips .chip")).to_have_count(3)
    page.get_by_role("button", name="Clear all filters").click()
    expect(page.locator("#chips .chip")).to_have_count(0)
    expect(page.locator("#summary")).to_have_text("3 assets")
    assert "q=fox" in page.url
    assert "model=" not in page.url and "tags=" not in page.url


def test_the_brand_link_leads_home_from_a_collection(page: Page, library: Library) -> None:
    created = library.api.http.post("/v1/collections", json={"name": "Brand check"})
    created.raise_for_status()
    collection = created.json()["id"]
    library.api.http.post(
        f"/v1/collections/{collection}/items", json={"asset_ids": [library.ids["lake.png"]]}
    ).raise_for_status()
    sign_in(page, library, f"/?collection={collection}&subfolders=1")
    expect(page.locator("#summary")).to_have_text("1 asset")
    page.get_by_role("link", name="Assetlens").click()
    # Home is the whole library: out of the collection (gone or revoked, it may have no
    # header left to leave it by), every filter and toggle off.
    expect(page.locator("#summary")).to_have_text(f"{len(library.ids)} assets")
    assert "?" not in page.url
    expect(page.locator("#collection-bar")).to_be_hidden()


def test_searching_again_for_the_same_words_runs_the_search_again(
    page: Page, library: Library
) -> None:
    sign_in_as_empty_search(page, library, "/?q=quokka")
    uploaded = library.api.upload(
        "quokka.png", png_bytes((64, 48), seed=77), prompt="a quokka smiling"
    )
    uploaded.raise_for_status()
    library.ids["quokka.png"] = uploaded.json()["id"]
    # A teammate's new file, or an error that has passed: Search (or Enter) asks again.
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#summary")).to_have_text("1 asset")
    expect(page.locator("#results .tile .tile-name")).to_have_text(["quokka.png"])


def sign_in_as_empty_search(page: Page, library: Library, path: str) -> None:
    page.goto(path)
    page.get_by_label("API key").fill(library.key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#summary")).to_have_text("0 assets")


def test_a_bulk_delete_can_be_undone_from_its_message(page: Page, library: Library) -> None:
    total = len(library.ids)
    sign_in(page, library, "/?sort=name:asc")
    tiles = page.locator("#results .tile")
    tiles.nth(0).locator(".tile-check").click()
    tiles.nth(1).click(modifiers=["Shift"])
    page.locator("#bulkbar").get_by_role("button", name="Delete").click()
    expect(page.locator("#summary")).to_have_text(f"{total - 2} assets")
    # Forty selected tiles deleted by a slip would take forty Restores in the trash.
    page.locator("#toast").get_by_role("button", name="Undo").click()
    expect(page.locator("#toast")).to_contain_text("Restored 2")
    expect(page.locator("#summary")).to_have_text(f"{total} assets")
    statuses = {
        library.api.http.get(f"/v1/assets/{i}").json()["status"] for i in library.ids.values()
    }
    assert "deleted" not in statuses


def test_empty_states_say_what_is_empty(page: Page, library: Library) -> None:
    empty_key = library.container.keys.create("empty-studio")
    page.goto("/")
    page.get_by_label("API key").fill(empty_key)
    page.get_by_role("button", name="Sign in").click()
    # A new library is not "no match": nothing was filtered, there is nothing yet.
    expect(page.locator("#empty")).to_contain_text("No assets yet")
    expect(page.locator("#empty")).not_to_contain_text("Clear a filter")
    page.get_by_role("button", name="Sign out").click()
    sign_in_as_empty_search(page, library, "/?q=zebra")
    expect(page.locator("#empty")).to_contain_text("No assets match “zebra”")
    expect(page.locator("#empty")).not_to_contain_text("filter")


def test_arrow_keys_walk_the_open_detail_panel(page: Page, library: Library) -> None:
    sign_in(page, library, "/?type=image&sort=name:asc")
    names = page.locator("#results .tile .tile-name").all_inner_texts()
    page.locator("#results .tile").first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#detail-title")).to_have_text(names[0])
    # With the panel open, the arrows page through the assets in it (as in a viewer).
    page.keyboard.press("ArrowRight")
    expect(page.locator("#detail-title")).to_have_text(names[1])
    page.keyboard.press("ArrowRight")
    expect(page.locator("#detail-title")).to_have_text(names[2])
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#detail-title")).to_have_text(names[1])
    # One history entry for the panel, not one per step: Back closes it.
    page.go_back()
    expect(page.locator("#detail")).to_be_hidden()


def test_select_all_reaches_past_the_loaded_page(page: Page, library: Library) -> None:
    from assetlens.domain import new_id
    from assetlens.query import IndexDoc

    container = library.container
    base = container.assets.get("studio", library.ids["castle.png"])
    clones = [
        base.model_copy(
            update={
                "id": new_id(),
                "workspace": "many",
                "name": f"many-{i:03d}.png",
                "folder_id": None,
            }
        )
        for i in range(75)
    ]
    for clone in clones:
        container.assets.manifests.create(clone)
    container.index.upsert([IndexDoc(asset=clone) for clone in clones])
    container.index.refresh()
    key = container.keys.create("many")
    page.goto("/?sort=name:asc")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#summary")).to_have_text("75 assets")
    page.locator("#results").focus()
    page.keyboard.press("Control+a")
    # Ctrl-A takes the loaded page; the bar says so and offers every match.
    expect(page.locator("#bulkbar .count")).to_have_text("60 of 75 selected")
    page.get_by_role("button", name="Select all 75").click()
    expect(page.locator("#bulkbar .count")).to_have_text("75 selected")
    page.locator("#bulk-tag").fill("batch")
    page.locator("#bulkbar").get_by_role("button", name="Tag").click()
    expect(page.locator("#toast")).to_contain_text("Tag: 75 done")
    owner = Api(library.base_url, key)
    tagged = owner.search(filters={"tags": ["batch"]}, limit=1).json()["total"]
    owner.http.close()
    assert tagged == 75


def test_a_read_only_key_gets_a_read_only_page(page: Page, library: Library) -> None:
    from assetlens.access import Scope

    reader = library.container.keys.create("studio", "reader", scopes=frozenset({Scope.READ}))
    page.goto(f"/?asset={library.ids['owl-night.png']}")
    page.get_by_label("API key").fill(reader)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#detail-title")).to_have_text("owl-night.png")
    # What this key may do is offered; what would only answer 403 is not.
    detail = page.locator("#detail")
    expect(detail.get_by_role("button", name="Find similar")).to_be_visible()
    expect(detail.get_by_role("link", name="Download", exact=True)).to_be_visible()
    for name in ("Favourite", "Delete", "Add", "Upload new version"):
        expect(detail.get_by_role("button", name=name, exact=True)).to_have_count(0)
    expect(detail.locator("#tag-input")).to_have_count(0)
    expect(page.locator("label.upload-button")).to_be_hidden()
    expect(page.locator("#folder-new")).to_be_hidden()
    expect(page.locator("#collection-new")).to_be_hidden()
    page.keyboard.press("Escape")
    page.locator("#results .tile").first.locator(".tile-check").click()
    bar = page.locator("#bulkbar")
    expect(bar.locator(".count")).to_have_text("1 selected")
    expect(bar.get_by_role("button", name="Delete")).to_have_count(0)
    expect(bar.get_by_role("button", name="Tag")).to_have_count(0)
