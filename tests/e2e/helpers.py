"""Steps the browser tests share: sign in, wait for results, drop files, run axe."""

from __future__ import annotations

import base64
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.e2e.library import Library


def sign_in(page: Page, library: Library, path: str = "/") -> None:
    """Open the page, sign in with the library's key and wait for the first results."""
    page.goto(path)
    page.get_by_label("API key").fill(library.key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#results .tile").first).to_be_visible()


def tile_names(page: Page) -> list[str]:
    return page.locator("#results .tile .tile-name").all_inner_texts()


def facet_counts(page: Page, facet: str) -> dict[str, int]:
    """The values and counts the sidebar shows for one facet."""
    counts: dict[str, int] = {}
    for item in page.locator(f'fieldset[data-facet="{facet}"] li').all():
        value = item.locator("input").get_attribute("data-value") or ""
        counts[value] = int(item.locator(".count").inner_text().replace(",", ""))
    return counts


def drop_files(page: Page, files: list[tuple[str, str, bytes]]) -> None:
    """Drop files (name, mime, bytes) on the page as a user dragging them from a desktop."""
    payload = [{"name": n, "type": t, "data": base64.b64encode(b).decode()} for n, t, b in files]
    transfer = page.evaluate_handle(
        """(files) => {
          const dt = new DataTransfer();
          for (const f of files) {
            const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
            dt.items.add(new File([bytes], f.name, { type: f.type }));
          }
          return dt;
        }""",
        payload,
    )
    page.dispatch_event("body", "dragenter", {"dataTransfer": transfer})
    expect(page.locator("#dropzone")).to_be_visible()
    page.dispatch_event("body", "drop", {"dataTransfer": transfer})


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core (bundled by axe-playwright-python) violations of serious or critical impact."""
    results = Axe().run(page)
    violations: list[dict[str, Any]] = results.response["violations"]
    return [v for v in violations if v.get("impact") in ("serious", "critical")]
