"""Search without a model, and every model counted, through HTTP on both backends:
`mode: "auto"` (the default) is hybrid when a CLIP model is available and keyword
otherwise, and `mode_used` says which; a base + refiner workflow counts under both models."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from api.app import create_app
from assetlens.bootstrap import build
from tests.api.conftest import png, server_settings
from tests.conftest import Api, make_settings
from tests.fakes import FakeEmbedder
from tests.support.server import running
from tests.unit.provenance.test_models import SDXL_BASE_REFINER


@pytest.fixture(scope="module", params=["embedded", "servers"])
def offline(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    """A live server on each backend whose embedder has no weights."""
    data = Path(tmp_path_factory.mktemp("offline")) / "data"
    servers = request.param == "servers"
    settings = server_settings(request, data) if servers else make_settings(data)
    container = build(settings, embedder=FakeEmbedder(available=False))
    with running(create_app(container, run_indexer=True)) as base_url:
        client = Api(base_url, container.keys.create("offline"))
        yield client
        client.http.close()
    if servers:
        from tests.api.conftest import drop_server_data

        drop_server_data(request, settings, container)
    container.close()


def comfy_png(colour: tuple[int, int, int]) -> bytes:
    """A PNG carrying an SDXL base + refiner ComfyUI graph."""
    info = PngInfo()
    info.add_text("prompt", json.dumps(SDXL_BASE_REFINER))
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), colour).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def test_auto_is_hybrid_with_a_model_and_says_so(api: Api) -> None:
    api.upload("kite.png", png((200, 10, 10), pattern=41), prompt="a red kite over dunes")
    found = api.search(q="kite dunes")
    assert found.status_code == 200, found.text
    assert found.json()["mode_used"] == "hybrid"
    assert found.json()["total"] >= 1
    keyword = api.search(q="kite dunes", mode="keyword").json()
    assert keyword["mode_used"] == "keyword"
    assert keyword["total"] >= 1
    ordered = api.search(q="kite dunes", sort="name").json()
    assert ordered["mode_used"] == "keyword"  # an explicit order is not a vector ranking
    listing = api.http.get("/v1/assets", params={"limit": 1})
    assert listing.json()["mode_used"] == "keyword"


def test_a_similarity_mode_refuses_an_order_it_could_not_apply(api: Api) -> None:
    api.upload("gull.png", png((20, 90, 200), pattern=44), prompt="a gull over a grey sea")
    for mode in ("semantic", "hybrid"):
        refused = api.search(q="gull", mode=mode, sort="name:asc")
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "sort" in refused.json()["detail"]
        assert api.search(q="gull", mode=mode, sort="relevance").json()["mode_used"] == mode
    # auto with an order is a keyword listing in that order, as before
    ordered = api.search(q="gull", sort="name:asc")
    assert ordered.status_code == 200, ordered.text
    assert ordered.json()["mode_used"] == "keyword"


def test_auto_is_keyword_without_a_model(offline: Api) -> None:
    created = offline.upload(
        "fox.png", png((180, 80, 20), pattern=43), prompt="a copper fox in fog"
    )
    assert created.status_code == 201, created.text
    found = offline.search(q="copper fox")
    assert found.status_code == 200, found.text
    assert found.json()["mode_used"] == "keyword"
    assert [i["asset"]["id"] for i in found.json()["items"]] == [created.json()["id"]]
    for mode in ("semantic", "hybrid"):
        refused = offline.search(q="copper fox", mode=mode)
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")


def test_an_unknown_mode_is_a_422_naming_the_field(api: Api) -> None:
    response = api.search(q="kite", mode="fuzzy")
    assert response.status_code == 422
    assert "mode" in response.text


def test_base_and_refiner_both_count_in_the_model_facet(api: Api) -> None:
    created = api.upload("castle.png", comfy_png((20, 30, 160)), tags="refined")
    assert created.status_code == 201, created.text
    generation = created.json()["generation"]
    assert generation["model"] == "sd_xl_base_1.0"
    assert generation["models"] == ["sd_xl_base_1.0", "sd_xl_refiner_1.0"]
    page = api.search(filters={"tags": ["refined"]}, facets=["model"]).json()
    assert {(b["value"], b["count"]) for b in page["facets"]["model"]} == {
        ("sd_xl_base_1.0", 1),
        ("sd_xl_refiner_1.0", 1),
    }
    refined = api.search(filters={"model": ["sd_xl_refiner_1.0"]}).json()
    assert [i["asset"]["id"] for i in refined["items"]] == [created.json()["id"]]
