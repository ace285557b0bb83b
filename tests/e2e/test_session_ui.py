"""Uploads by drag and drop, signing out, and CSRF from another origin."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import drop_files, sign_in
from tests.e2e.library import Library
from tests.support.media_samples import png_bytes, png_header_bomb

pytestmark = pytest.mark.e2e


def test_drop_three_files_one_rejected(page: Page, library: Library) -> None:
    sign_in(page, library)
    drop_files(
        page,
        [
            ("dropped-one.png", "image/png", png_bytes((90, 60), seed=41)),
            ("bomb.png", "image/png", png_header_bomb()),
            ("dropped-two.png", "image/png", png_bytes((90, 60), seed=42)),
        ],
    )
    items = page.locator("#upload-list .upload-item")
    expect(items).to_have_count(3)
    expect(page.locator('.upload-item[data-name="dropped-one.png"]')).to_have_class(
        "upload-item done"
    )
    expect(page.locator('.upload-item[data-name="dropped-two.png"]')).to_have_class(
        "upload-item done"
    )
    rejected = page.locator('.upload-item[data-name="bomb.png"]')
    expect(rejected).to_have_class("upload-item failed")
    # The server's problem detail says why.
    expect(rejected.locator(".upload-status")).to_contain_text("pixels")
    names = {a["asset"]["name"] for a in library.api.search(q="dropped").json()["items"]}
    assert names <= {"dropped-one.png", "dropped-two.png"}
    page.get_by_role("searchbox", name="Search").fill("dropped")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#results .tile")).to_have_count(2)


def test_sign_out_ends_the_session(page: Page, library: Library) -> None:
    sign_in(page, library)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API key")).to_be_visible()
    status = page.evaluate("fetch('/v1/session').then((r) => r.status)")
    assert status == 401
    page.reload()
    expect(page.get_by_label("API key")).to_be_visible()


def test_cookie_writes_from_another_origin_are_refused(page: Page, library: Library) -> None:
    sign_in(page, library)
    asset_id = library.ids["fox-city.png"]
    csrf = page.evaluate("fetch('/v1/session').then((r) => r.json()).then((b) => b.csrf_token)")
    # The browser context's request client carries the session cookie, like a forged form.
    forged = page.request.delete(
        f"/v1/assets/{asset_id}", headers={"Origin": "http://evil.example"}
    )
    assert forged.status == 403
    with_token = page.request.delete(
        f"/v1/assets/{asset_id}", headers={"Origin": "http://evil.example", "X-CSRF-Token": csrf}
    )
    assert with_token.status == 403
    without_token = page.request.delete(f"/v1/assets/{asset_id}")
    assert without_token.status == 403
    assert library.api.http.get(f"/v1/assets/{asset_id}").json()["status"] != "deleted"


def test_a_refused_file_type_lists_the_allowed_ones_in_order(page: Page, library: Library) -> None:
    sign_in(page, library)
    drop_files(page, [("setup.exe", "application/octet-stream", b"MZ\x90\x00not a program")])
    status = page.locator('.upload-item[data-name="setup.exe"] .upload-status')
    expect(status).to_contain_text("allowed extensions")
    # Sorted, so a person can find theirs (a set's order changed from one server to the next).
    listed = status.inner_text().split("allowed extensions: ")[1].split(", ")
    assert "png" in listed and listed == sorted(listed)


def test_a_session_that_ends_in_a_dialog_lands_on_sign_in(page: Page, library: Library) -> None:
    sign_in(page, library)
    page.get_by_role("button", name="New folder").click()
    dialog = page.get_by_role("dialog", name="New folder")
    dialog.get_by_label("Name").fill("Late")
    page.context.clear_cookies()  # the session ends (expired, or revoked elsewhere)
    dialog.get_by_role("button", name="Create").click()
    # Not a modal left over the sign-in form, blocking it, with the API's advice to clients.
    expect(page.locator("#signin-error")).to_have_text("Your session ended. Sign in again.")
    expect(page.locator("dialog[open]")).to_have_count(0)
    page.get_by_label("API key").fill(library.key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#results .tile").first).to_be_visible()


def test_files_dropped_on_a_folder_view_go_into_that_folder(page: Page, library: Library) -> None:
    places = library.folders["Places"]
    sign_in_empty(page, library, f"/?folder_id={places}")
    transfer = page.evaluate_handle(
        "() => { const dt = new DataTransfer(); dt.items.add(new File(['x'], 'a')); return dt; }"
    )
    page.dispatch_event("body", "dragenter", {"dataTransfer": transfer})
    # The drop zone says where the files go.
    expect(page.locator("#dropzone")).to_have_text("Drop files to upload into Places")
    page.dispatch_event("body", "dragleave", {"dataTransfer": transfer})
    drop_files(page, [("postcard.png", "image/png", png_bytes((80, 60), seed=61))])
    expect(page.locator('.upload-item[data-name="postcard.png"]')).to_have_class("upload-item done")
    # It shows where the user is looking, not at the top level out of view.
    expect(page.locator("#results .tile .tile-name")).to_have_text(["postcard.png"])
    found = library.api.search(q="postcard").json()["items"]
    assert [item["asset"]["folder_id"] for item in found] == [places]


def sign_in_empty(page: Page, library: Library, path: str) -> None:
    """Sign in on a view that shows no assets yet."""
    page.goto(path)
    page.get_by_label("API key").fill(library.key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#summary")).to_have_text("0 assets")
