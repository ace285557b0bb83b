"""With a CLIP model (the tiny open_clip model the tests make): real neighbours in the UI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from api.app import create_app
from assetlens.bootstrap import build
from tests.conftest import Api
from tests.e2e.helpers import sign_in
from tests.e2e.library import Library, seed_library
from tests.support.server import running
from tests.support.tiny_clip import tiny_clip_settings

pytestmark = [pytest.mark.e2e, pytest.mark.clip]


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    """This module's server has the tiny CLIP model (overrides the model-less library)."""
    pytest.importorskip("open_clip")
    directory = Path(tmp_path_factory.mktemp("e2e-clip"))
    container = build(tiny_clip_settings(directory, indexer_poll_seconds=0.05))
    with running(create_app(container, run_indexer=True)) as base_url:
        key = container.keys.create("studio")
        client = Api(base_url, key)
        ids = seed_library(client)
        yield Library(base_url, container, key, client, ids)
        client.http.close()
    container.close()


def test_find_similar_shows_real_neighbours(page: Page, library: Library) -> None:
    asset_id = library.ids["fox-snow.png"]
    sign_in(page, library, f"/?asset={asset_id}")
    expect(page.locator("#mode-semantic")).to_be_enabled()
    expect(page.locator("#visual-note")).to_be_hidden()
    page.get_by_role("button", name="Find similar").click()
    strip = page.locator('[data-related="similar"] .strip-item')
    expect(strip.first).to_be_visible()
    expected = library.api.http.get(f"/v1/assets/{asset_id}/similar", params={"limit": 12}).json()[
        "items"
    ]
    assert expected, "the tiny model gives neighbours"
    expect(strip).to_have_count(len(expected))
    first = expected[0]["asset"]
    strip.first.click()
    expect(page.locator("#detail-title")).to_have_text(first["name"])


def test_semantic_search_runs(page: Page, library: Library) -> None:
    sign_in(page, library)
    page.get_by_role("searchbox", name="Search").fill("a fox")
    page.locator("label[for=mode-semantic]").click()
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#summary")).not_to_have_text("0 assets")
    assert "mode=semantic" in page.url
    expect(page.locator("#search-error")).to_be_hidden()


def test_a_similarity_ranking_offers_no_sort_it_would_ignore(page: Page, library: Library) -> None:
    sign_in(page, library, "/?q=fox&mode=hybrid&sort=name:asc")
    # Semantic and hybrid results are ranked by similarity (the API ignores `sort` there):
    # the control must not claim "Name A–Z" over a list that is not in that order.
    expect(page.locator("#sort")).to_be_disabled()
    expect(page.locator("#sort")).to_have_value("")
    # Back to keyword, the chosen order (kept in the URL) applies again.
    page.locator("label[for=mode-keyword]").click()
    expect(page.locator("#sort")).to_be_enabled()
    expect(page.locator("#sort")).to_have_value("name:asc")
    expect(page.locator("#summary")).to_have_text("3 assets")
    names = page.locator("#results .tile .tile-name").all_inner_texts()
    assert names == sorted(names) and len(names) == 3
