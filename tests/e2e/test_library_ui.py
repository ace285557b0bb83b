"""Library screens in the browser: the folder tree, moving to folders, collections (open,
add, reorder, remove, share, a grantee's view) and the admin's keys screen."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from assetlens.access import Scope
from tests.conftest import Api
from tests.e2e.helpers import serious_violations, sign_in, tile_names
from tests.e2e.library import Library

pytestmark = pytest.mark.e2e


def folder_of(library: Library, filename: str) -> str | None:
    asset = library.api.http.get(f"/v1/assets/{library.ids[filename]}").json()
    folder: str | None = asset["folder_id"]
    return folder


def sign_in_as(page: Page, key: str, path: str = "/") -> None:
    """Sign in with any key (its library may be empty)."""
    page.goto(path)
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#app")).to_be_visible()


def test_folder_tree_filters_with_and_without_subfolders(page: Page, library: Library) -> None:
    sign_in(page, library)
    tree = page.locator("#folder-tree")
    expect(tree.locator(".tree-item")).to_have_count(3)
    expect(page.locator("#sidebar")).not_to_contain_text("null")
    tree.get_by_role("button", name=re.compile(r"^Animals")).click()
    expect(page.locator("#summary")).to_have_text("1 asset")
    assert tile_names(page) == ["owl-night.png"]
    page.get_by_label("Include subfolders").check()
    expect(page.locator("#summary")).to_have_text("4 assets")
    assert sorted(tile_names(page)) == [
        "fox-city.png",
        "fox-forest.png",
        "fox-snow.png",
        "owl-night.png",
    ]
    assert "subfolders=1" in page.url
    assert serious_violations(page) == []
    page.go_back()
    expect(page.locator("#summary")).to_have_text("1 asset")


def test_create_rename_and_delete_a_folder(page: Page, library: Library) -> None:
    sign_in(page, library)
    page.get_by_role("button", name="New folder").click()
    dialog = page.get_by_role("dialog", name="New folder")
    dialog.get_by_label("Name").fill("Scratch")
    assert serious_violations(page) == []
    dialog.get_by_role("button", name="Create").click()
    expect(page.locator("#folder-tree")).to_contain_text("Scratch")
    folders = {f["name"]: f for f in library.api.http.get("/v1/folders").json()["items"]}
    scratch = folders["Scratch"]
    assert scratch["parent_id"] is None

    page.get_by_role("button", name="Edit folder Scratch").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("Drafts")
    dialog.get_by_label("Inside").select_option(label="Places")
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator("#folder-tree")).to_contain_text("Drafts")
    moved = library.api.http.get(f"/v1/folders/{scratch['id']}").json()
    assert (moved["name"], moved["parent_id"]) == ("Drafts", library.folders["Places"])

    page.get_by_role("button", name="Edit folder Drafts").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete folder").click()
    expect(page.locator("#folder-tree")).not_to_contain_text("Drafts")
    assert library.api.http.get(f"/v1/folders/{scratch['id']}").status_code == 404


def test_a_folder_with_assets_asks_before_deleting_it(page: Page, library: Library) -> None:
    made = library.api.http.post("/v1/folders", json={"name": "Busy"}).json()
    library.api.http.patch(
        f"/v1/assets/{library.ids['chime.wav']}", json={"folder_id": made["id"]}
    ).raise_for_status()
    sign_in(page, library)
    page.get_by_role("button", name="Edit folder Busy").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Delete folder").click()
    expect(dialog.get_by_role("alert")).to_contain_text("not empty")
    assert library.api.http.get(f"/v1/folders/{made['id']}").status_code == 200
    dialog.get_by_role("button", name="Delete with contents").click()
    expect(page.locator("#toast")).to_contain_text("moved to the trash")
    assert library.api.http.get(f"/v1/folders/{made['id']}").status_code == 404
    asset = library.api.http.get(f"/v1/assets/{library.ids['chime.wav']}").json()
    assert asset["status"] == "deleted"
    library.api.http.post(f"/v1/assets/{library.ids['chime.wav']}/restore").raise_for_status()


def test_move_the_selection_to_a_folder_from_the_bulk_bar(page: Page, library: Library) -> None:
    sign_in(page, library, "/?tags=landscape")
    tiles = page.locator("#results .tile")
    expect(tiles).to_have_count(2)
    tiles.nth(0).locator(".tile-check").click()
    tiles.nth(1).click(modifiers=["Shift"])
    page.locator("#bulk-folder").select_option(label="Places")
    expect(page.locator("#toast")).to_contain_text("Move: 2 done")
    assert folder_of(library, "castle.png") == library.folders["Places"]
    assert folder_of(library, "lake.png") == library.folders["Places"]


def test_move_to_a_folder_from_the_detail_panel(page: Page, library: Library) -> None:
    sign_in(page, library, f"/?asset={library.ids['robot.png']}")
    page.locator("#folder-select").select_option(label="Animals")
    expect(page.locator("#folder-select")).to_have_value(library.folders["Animals"])
    deadline = time.monotonic() + 10  # the PATCH is on its way
    while folder_of(library, "robot.png") != library.folders["Animals"]:
        assert time.monotonic() < deadline, "the move was not saved"
        time.sleep(0.1)


def test_collection_add_open_reorder_remove_and_share(page: Page, library: Library) -> None:
    sign_in(page, library, "/?sort=name:asc&tags=animal")
    tiles = page.locator("#results .tile")
    expect(tiles).to_have_count(4)
    tiles.nth(0).locator(".tile-check").click()
    tiles.nth(2).click(modifiers=["Shift"])
    page.locator("#bulk-collection").select_option(label="New collection…")
    dialog = page.get_by_role("dialog", name="New collection")
    dialog.get_by_label("Name").fill("Moodboard")
    dialog.get_by_role("button", name="Create").click()
    expect(page.locator("#toast")).to_contain_text("Added 3 to “Moodboard”")
    collection = next(
        c
        for c in library.api.http.get("/v1/collections").json()["items"]
        if c["name"] == "Moodboard"
    )
    path = f"/v1/collections/{collection['id']}"

    page.locator("#collections").get_by_role("button", name=re.compile("Moodboard")).click()
    expect(page.locator("#collection-name")).to_have_text("Moodboard")
    expect(page.locator("#collection-bar")).not_to_contain_text("null")
    expect(tiles).to_have_count(3)
    in_order = ["fox-city.png", "fox-forest.png", "fox-snow.png"]
    assert tile_names(page) == in_order
    assert f"collection={collection['id']}" in page.url
    assert serious_violations(page) == []

    # Drag the last tile before the first: the collection's order changes.
    tiles.nth(2).drag_to(tiles.nth(0))
    expect(tiles.first).to_contain_text("fox-snow.png")
    order = [i["asset"]["name"] for i in library.api.http.get(f"{path}/items").json()["items"]]
    assert order == ["fox-snow.png", "fox-city.png", "fox-forest.png"]
    # The keyboard's way: select a tile, "Move to start".
    tiles.nth(2).locator(".tile-check").click()
    page.get_by_role("button", name="Move to start").click()
    expect(tiles.first).to_contain_text("fox-forest.png")
    order = [i["asset"]["name"] for i in library.api.http.get(f"{path}/items").json()["items"]]
    assert order == ["fox-forest.png", "fox-snow.png", "fox-city.png"]

    # Search within the collection.
    page.get_by_role("searchbox", name="Search").fill("sleeping")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#summary")).to_have_text("1 asset")
    assert tile_names(page) == ["fox-forest.png"]
    page.go_back()
    expect(tiles).to_have_count(3)

    tiles.nth(1).locator(".tile-check").click()
    page.get_by_role("button", name="Remove from collection").click()
    expect(tiles).to_have_count(2)
    assert library.api.http.get(path).json()["item_count"] == 2

    page.get_by_role("button", name="Share…").click()
    share = page.get_by_role("dialog", name=re.compile("Share"))
    share.get_by_label("Workspace").fill("guest")
    share.get_by_label("Role").select_option("edit")
    share.get_by_role("button", name="Share", exact=True).click()
    expect(share.locator("#share-list")).to_contain_text("guest")
    assert library.api.http.get(path).json()["shares"] == {"guest": "edit"}
    assert serious_violations(page) == []
    share.get_by_role("button", name="Revoke guest").click()
    expect(share.locator("#share-list")).to_contain_text("Not shared")
    assert library.api.http.get(path).json()["shares"] == {}


def test_a_grantee_sees_what_its_role_allows(page: Page, library: Library) -> None:
    made = library.api.http.post("/v1/collections", json={"name": "For the client"}).json()
    path = f"/v1/collections/{made['id']}"
    ids = [library.ids["castle.png"], library.ids["lake.png"]]
    library.api.http.post(f"{path}/items", json={"asset_ids": ids}).raise_for_status()
    library.api.http.put(f"{path}/shares/client", json={"role": "view"}).raise_for_status()
    guest_key = library.container.keys.create("client")

    sign_in_as(page, guest_key, f"/?collection={made['id']}")
    expect(page.locator("#collection-role")).to_contain_text("Shared by studio")
    tiles = page.locator("#results .tile")
    expect(tiles).to_have_count(2)
    # Thumbnails come through the collection's routes (the grantee cannot read the owner's).
    expect(tiles.first.locator("img")).to_have_attribute("src", re.compile(f"^{path}/assets/"))
    tiles.first.locator(".tile-check").click()
    bar = page.locator("#bulkbar")
    expect(bar.locator(".count")).to_have_text("1 selected")
    expect(bar.get_by_role("button", name="Remove from collection")).to_have_count(0)
    expect(bar.get_by_role("button", name="Delete")).to_have_count(0)
    bar.get_by_role("button", name="Clear selection").click()
    tiles.first.click()
    expect(page.locator("#detail-title")).to_have_text(re.compile(r"(castle|lake)\.png"))
    expect(page.locator("#detail").get_by_role("button", name="Delete")).to_have_count(0)
    assert serious_violations(page) == []

    library.api.http.put(f"{path}/shares/client", json={"role": "edit"}).raise_for_status()
    page.reload()
    expect(page.locator("#collection-role")).to_contain_text("add, remove and reorder")
    # Still read-only in the detail panel: a grantee edits only through the collection.
    expect(page.locator("#detail").get_by_role("button", name="Delete")).to_have_count(0)
    expect(page.locator('fieldset[data-facet="folder"]')).to_have_count(0)
    tiles.first.locator(".tile-check").click()
    page.get_by_role("button", name="Remove from collection").click()
    expect(tiles).to_have_count(1)
    assert library.api.http.get(path).json()["item_count"] == 1


def test_admin_creates_copies_and_revokes_a_key(page: Page, library: Library) -> None:
    sign_in(page, library)
    page.get_by_role("button", name="API keys").click()
    dialog = page.get_by_role("dialog", name=re.compile("API keys"))
    expect(dialog.locator("#key-table tbody tr").first).to_be_visible()
    dialog.get_by_label("Name").fill("render farm")
    dialog.get_by_label("Scope").select_option("read")
    dialog.get_by_role("button", name="Create key").click()
    shown = dialog.locator("#new-key-value")
    expect(shown).to_have_value(re.compile(r"^alk_"))
    new_key = shown.input_value()
    dialog.get_by_role("button", name="Copy").click()
    assert page.evaluate("() => navigator.clipboard.readText()") == new_key
    assert serious_violations(page) == []
    made = next(
        k for k in library.api.http.get("/v1/keys").json()["items"] if k["name"] == "render farm"
    )
    assert made["scopes"] == ["read"]
    reader = Api(library.base_url, new_key)
    assert reader.http.get("/v1/folders").status_code == 200
    assert reader.http.post("/v1/folders", json={"name": "nope"}).status_code == 403

    dialog.get_by_role("button", name="Revoke key render farm").click()
    expect(dialog.locator(f'tr[data-key="{made["id"]}"]')).to_contain_text("revoked")
    assert reader.http.get("/v1/folders").status_code == 401
    reader.http.close()
    # The key is not kept anywhere once the dialog is closed.
    dialog.get_by_role("button", name="Close").click()
    expect(page.locator("#keys-dialog")).to_have_count(0)
    assert new_key not in page.content()


def test_keys_screen_is_for_admins_only(page: Page, library: Library) -> None:
    writer = library.container.keys.create("studio", "writer", scopes=frozenset({Scope.WRITE}))
    sign_in_as(page, writer)
    expect(page.locator("#results .tile").first).to_be_visible()
    expect(page.get_by_role("button", name="API keys")).to_be_hidden()


def test_ten_thousand_results_keep_a_small_dom(page: Page, library: Library) -> None:
    """The grid renders only the rows near the viewport (windowing)."""
    from assetlens.domain import new_id
    from assetlens.query import IndexDoc

    container = library.container
    base = container.assets.get("studio", library.ids["castle.png"])
    docs = []
    for i in range(600):
        clone = base.model_copy(
            update={
                "id": new_id(),
                "workspace": "bulk",
                "name": f"clone-{i:04d}.png",
                "folder_id": None,
            }
        )
        container.assets.manifests.create(clone)
        docs.append(IndexDoc(asset=clone))
    container.index.upsert(docs)
    container.index.refresh()
    sign_in_as(page, container.keys.create("bulk"), "/?sort=name:asc")
    expect(page.locator("#summary")).to_have_text("600 assets")
    tiles = page.locator("#results .tile")
    expect(tiles.first).to_contain_text("clone-0000.png")
    assert tiles.count() < 150
    # Keyboard End walks to the last loaded tile; scrolling to the bottom loads the rest.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
        if page.locator("#results").get_attribute("data-loaded") == "600":
            break
        page.wait_for_timeout(200)
    expect(page.locator("#search-error")).to_be_hidden()
    expect(page.locator("#results")).to_have_attribute("data-loaded", "600")
    page.locator("#results .tile").last.focus()
    page.keyboard.press("End")
    expect(page.locator("#results .tile:focus")).to_contain_text("clone-0599.png")
    assert tiles.count() < 150
    page.keyboard.press("Home")
    expect(page.locator("#results .tile:focus")).to_contain_text("clone-0000.png")
