"""Issue 9 screens in the browser: trash, version history, references, lineage, share
links, import from URL, the stats dashboard and the cost facet."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from ipaddress import ip_network
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import FilePayload, Page, expect

from api.app import create_app
from assetlens.bootstrap import build
from tests.conftest import Api, make_settings
from tests.e2e.helpers import facet_counts, serious_violations, sign_in
from tests.e2e.library import Library, seed_library, wait_for_search
from tests.support.media_samples import png_bytes
from tests.support.server import running

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    """The sample library, with costs on two images, on a server that may import from its
    own loopback address (its signed links stand in for a public file server)."""
    settings = make_settings(
        Path(tmp_path_factory.mktemp("e2e-life")) / "data",
        url_import_allow_private=[ip_network("127.0.0.1/32")],
    )
    container = build(settings)
    with running(create_app(container, run_indexer=True)) as base_url:
        key = container.keys.create("studio")
        client = Api(base_url, key)
        ids = seed_library(client)
        for name, cost in (("castle.png", 0.5), ("lake.png", 2.0)):
            client.http.patch(
                f"/v1/assets/{ids[name]}", json={"metadata": {"cost": cost}}
            ).raise_for_status()
        wait_for_search(client, {"cost_range": ["0.1-1", "1-10"]}, 2)
        yield Library(base_url, container, key, client, ids)
        client.http.close()
    container.close()


def trash(library: Library, name: str) -> str:
    asset_id = library.ids[name]
    library.api.http.delete(f"/v1/assets/{asset_id}").raise_for_status()
    return asset_id


def test_trash_restore_purge_and_empty(page: Page, library: Library) -> None:
    robot, chime, fox = (trash(library, n) for n in ("robot.png", "chime.wav", "fox-city.png"))
    sign_in(page, library)
    page.get_by_role("button", name="Trash").click()
    dialog = page.get_by_role("dialog", name="Trash")
    expect(dialog.locator(".trash-item")).to_have_count(3)
    expect(dialog.locator("#trash-summary")).to_contain_text("3 assets")
    assert serious_violations(page) == []

    dialog.get_by_role("button", name="Restore robot.png").click()
    expect(dialog.locator(".trash-item")).to_have_count(2)
    assert library.api.http.get(f"/v1/assets/{robot}").json()["status"] != "deleted"

    # For good is for good: the first click asks, the second deletes.
    dialog.get_by_role("button", name="Delete chime.wav for good").click()
    confirm = dialog.get_by_role("button", name="Really delete chime.wav for good?")
    expect(confirm).to_be_visible()
    expect(dialog.locator(".trash-item")).to_have_count(2)
    assert library.api.http.get(f"/v1/assets/{chime}").status_code == 200
    confirm.click()
    expect(dialog.locator(".trash-item")).to_have_count(1)
    assert library.api.http.get(f"/v1/assets/{chime}").status_code == 404

    dialog.get_by_role("button", name="Empty trash").click()
    dialog.get_by_role("button", name=re.compile("Really delete")).click()
    expect(dialog.locator("#trash-summary")).to_have_text("The trash is empty.")
    assert library.api.http.get(f"/v1/assets/{fox}").status_code == 404
    assert library.api.http.get("/v1/trash").json()["total"] == 0


def test_version_history_upload_compare_rollback_delete(page: Page, library: Library) -> None:
    asset_id = library.ids["castle.png"]
    base = f"/v1/assets/{asset_id}/versions"
    sign_in(page, library, f"/?asset={asset_id}")
    versions = page.locator("#version-list .version")
    expect(versions).to_have_count(1)
    new_file: FilePayload = {
        "name": "castle-v2.png",
        "mimeType": "image/png",
        "buffer": png_bytes((320, 200), seed=42),
    }
    page.locator("#version-file").set_input_files(files=[new_file])
    page.locator("#version-note").fill("wider crop")
    page.get_by_role("button", name="Upload new version").click()
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text("wider crop")
    assert library.api.http.get(base).json()["current"] == 2
    assert serious_violations(page) == []

    page.get_by_role("button", name="Compare version 1 with the current version").click()
    expect(page.locator("#version-diff table")).to_contain_text("sha256")
    page.get_by_role("button", name="Roll back to version 1").click()
    expect(versions).to_have_count(3)
    history = library.api.http.get(base).json()
    assert history["current"] == 3
    assert history["items"][0]["rolled_back_from"] == 1

    page.get_by_role("button", name="Delete version 2").click()
    expect(versions).to_have_count(2)
    assert [v["number"] for v in library.api.http.get(base).json()["items"]] == [3, 1]


def test_where_used_and_a_delete_that_asks_first(page: Page, library: Library) -> None:
    asset_id = library.ids["owl-night.png"]
    library.api.http.post(
        f"/v1/assets/{asset_id}/references",
        json={
            "resource_type": "story",
            "resource_id": "night-tales",
            "usage_type": "cover",
        },
    ).raise_for_status()
    sign_in(page, library, f"/?asset={asset_id}")
    expect(page.locator("#references-title")).to_have_text("Where this is used (1)")
    expect(page.locator("#reference-list")).to_contain_text("night-tales")
    page.locator("#detail").get_by_role("button", name="Delete").click()
    confirm = page.get_by_role("dialog", name="This asset is in use")
    expect(confirm).to_contain_text("night-tales")
    assert serious_violations(page) == []
    confirm.get_by_role("button", name="Delete anyway").click()
    expect(page.locator("#toast")).to_contain_text("Moved to the trash")
    asset = library.api.http.get(f"/v1/assets/{asset_id}").json()
    assert (asset["status"], asset["references_count"]) == ("deleted", 0)
    library.api.http.post(f"/v1/assets/{asset_id}/restore").raise_for_status()


def test_lineage_shows_both_directions(page: Page, library: Library) -> None:
    parent = library.ids["fox-snow.png"]
    child = library.api.upload(
        "fox-snow-upscaled.png",
        png_bytes((300, 200), seed=77),
        metadata=json.dumps({"source_asset_id": parent}),
    )
    child.raise_for_status()
    child_id = child.json()["id"]
    sign_in(page, library, f"/?asset={child_id}")
    ancestors = page.locator("#lineage-ancestors")
    expect(ancestors).to_contain_text("fox-snow.png")
    expect(ancestors.locator("img")).to_have_count(1)
    assert serious_violations(page) == []
    ancestors.get_by_role("button", name=re.compile("Open fox-snow.png")).click()
    expect(page.locator("#detail-title")).to_have_text("fox-snow.png")
    expect(page.locator("#lineage-derivatives")).to_contain_text("fox-snow-upscaled.png")


def test_share_link_opens_without_a_key(page: Page, library: Library) -> None:
    asset_id = library.ids["fox-forest.png"]
    sign_in(page, library, f"/?asset={asset_id}")
    page.get_by_role("button", name="Share link…").click()
    dialog = page.get_by_role("dialog", name=re.compile("Share link"))
    dialog.get_by_label("Opens as").select_option("attachment")
    dialog.get_by_role("button", name="Create link").click()
    url = dialog.locator("#signed-link-url").input_value()
    assert "/v1/signed/" in url
    assert serious_violations(page) == []
    anonymous = httpx.get(url)
    assert anonymous.status_code == 200
    assert anonymous.headers["content-disposition"].startswith("attachment")
    assert anonymous.content == library.api.http.get(f"/v1/assets/{asset_id}/content").content


def test_import_from_url(page: Page, library: Library) -> None:
    source = library.ids["robot.png"]
    link = library.api.http.post(f"/v1/assets/{source}/signed-url", json={}).json()["url"]
    url = f"{library.base_url}{link}" if link.startswith("/") else link
    sign_in(page, library)
    page.get_by_role("button", name="From URL…").click()
    dialog = page.get_by_role("dialog", name="Import from URL")
    dialog.get_by_label("URL").fill(url)
    dialog.get_by_label("Name (optional)").fill("robot-imported.png")
    dialog.get_by_label("Tags (optional)").fill("imported")
    assert serious_violations(page) == []
    dialog.get_by_role("button", name="Import").click()
    expect(page.locator("#toast")).to_contain_text("Imported robot-imported.png")
    found = library.api.search(filters={"tags": ["imported"]}).json()["items"]
    assert [i["asset"]["name"] for i in found] == ["robot-imported.png"]
    assert found[0]["asset"]["source"] == "url"


def test_import_from_url_explains_a_refusal(page: Page, library: Library) -> None:
    sign_in(page, library)
    page.get_by_role("button", name="From URL…").click()
    dialog = page.get_by_role("dialog", name="Import from URL")
    dialog.get_by_label("URL").fill("http://169.254.169.254/latest/meta-data")
    dialog.get_by_role("button", name="Import").click()
    expect(dialog.get_by_role("alert")).not_to_be_empty()
    expect(dialog).to_be_visible()


def test_stats_dashboard_matches_the_api(page: Page, library: Library) -> None:
    stats = library.api.http.get("/v1/stats").json()
    sign_in(page, library)
    page.get_by_role("button", name="Stats").click()
    dialog = page.get_by_role("dialog", name="Library stats")
    figures = dialog.locator("#stats-figures")
    expect(figures).to_contain_text(f"{stats['assets']['count']}")
    charts = dialog.locator("figure.chart")
    expect(charts).to_have_count(5)
    by_type = charts.filter(has_text="Assets by type")
    expect(by_type.locator("rect.bar")).to_have_count(len(stats["assets"]["by_type"]))
    by_model = charts.filter(has_text="Cost by model")
    expect(by_model.locator("rect.bar")).to_have_count(len(stats["cost"]["by_model"]))
    assert serious_violations(page) == []


def test_cost_facet_filters(page: Page, library: Library) -> None:
    sign_in(page, library)
    counts = facet_counts(page, "cost")
    assert counts.get("1-10") == 1
    page.locator('input[data-facet="cost"][data-value="1-10"]').check()
    expect(page.locator("#summary")).to_have_text("1 asset")
    assert "cost_range=1-10" in page.url
    expect(page.locator("#chips")).to_contain_text("Cost: 1 – 10")
    assert serious_violations(page) == []
