"""Browser tests: a real Assetlens server (embedded mode) driven by headless Chromium.

Chromium is Debian's package, driven by Playwright for Python (no browser download). On a
developer machine without it the tests skip with the reason; in CI (`CI` set) they fail.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from api.app import create_app
from assetlens.bootstrap import build
from tests.conftest import Api, make_settings
from tests.e2e.library import Library, seed_folders, seed_library
from tests.support.server import running

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def chromium_path() -> str:
    """Debian's chromium binary; skip (developer machine) or fail (CI) without it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and Path("/usr/bin/chromium").exists():
        found = "/usr/bin/chromium"
    if found is None:
        message = "chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    """A live embedded-mode server without a CLIP model, seeded with sample assets."""
    settings = make_settings(Path(tmp_path_factory.mktemp("e2e")) / "data")
    container = build(settings)
    with running(create_app(container, run_indexer=True)) as base_url:
        key = container.keys.create("studio")
        client = Api(base_url, key)
        ids = seed_library(client)
        folders = seed_folders(client, ids)
        yield Library(base_url, container, key, client, ids, folders)
        client.http.close()
    container.close()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One Chromium for the browser tests. Package scope, not session: Playwright's sync
    API keeps an event loop running in this thread until it exits, and the tests after
    this package call asyncio.run."""
    executable = chromium_path()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, library: Library, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context (no cookies) on the library; a screenshot is kept after
    each test in test-artifacts/screenshots/."""
    context = browser.new_context(
        base_url=library.base_url,
        viewport={"width": 1366, "height": 860},
        permissions=["clipboard-read", "clipboard-write"],
    )
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    opened.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
