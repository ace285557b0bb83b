"""Visual search through the real open_clip code (a tiny model the tests make), and the
offline behaviour when no weights exist: 503 with a clear detail, never random neighbours."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.app import create_app
from assetlens.bootstrap import build
from assetlens.config import Settings
from tests.api.conftest import png
from tests.conftest import Api
from tests.support import media_samples
from tests.support.server import running
from tests.support.tiny_clip import tiny_clip_settings

pytestmark = pytest.mark.clip


def serve(settings: Settings, workspace: str) -> Iterator[Api]:
    container = build(settings)
    with running(create_app(container, run_indexer=True)) as base_url:
        client = Api(base_url, container.keys.create(workspace))
        yield client
        client.http.close()
    container.close()


@pytest.fixture(scope="module")
def clip_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    directory = Path(tmp_path_factory.mktemp("clip"))
    yield from serve(tiny_clip_settings(directory, indexer_poll_seconds=0.05), "clip")


@pytest.fixture(scope="module")
def offline_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    directory = Path(tmp_path_factory.mktemp("offline"))
    yield from serve(
        tiny_clip_settings(
            directory, clip_checkpoint=directory / "missing.pt", indexer_poll_seconds=0.05
        ),
        "offline",
    )


def test_similar_and_by_image_with_open_clip(clip_api: Api) -> None:
    first = clip_api.upload("a.png", media_samples.png_bytes(seed=1), prompt="first").json()
    second = clip_api.upload("b.png", media_samples.png_bytes(seed=2), prompt="second").json()
    similar = clip_api.http.get(f"/v1/assets/{first['id']}/similar")
    assert similar.status_code == 200, similar.text
    items = similar.json()["items"]
    assert [i["asset"]["id"] for i in items] == [second["id"]]
    assert -1.0 <= items[0]["score"] <= 1.0
    # The exact bytes of the first image must find the first image first.
    by_image = clip_api.http.post(
        "/v1/search/by-image", files={"file": ("q.png", media_samples.png_bytes(seed=1))}
    )
    assert by_image.json()["items"][0]["asset"]["id"] == first["id"]
    assert by_image.json()["items"][0]["score"] == pytest.approx(1.0, abs=0.02)
    semantic = clip_api.search(q="anything", mode="semantic").json()
    assert {i["asset"]["id"] for i in semantic["items"]} == {first["id"], second["id"]}
    assert semantic["mode_used"] == "semantic"
    auto = clip_api.search(q="first").json()  # the default mode, with a real CLIP model
    assert auto["mode_used"] == "hybrid"
    assert auto["items"][0]["asset"]["id"] == first["id"]


def test_every_media_type_uploads_and_gets_processed(clip_api: Api) -> None:
    samples = {
        "clip.mp4": (media_samples.mp4_bytes(), "video"),
        "song.wav": (media_samples.wav_bytes(), "audio"),
        "font.ttf": (media_samples.ttf_bytes(), "font"),
        "notes.md": (b"# a prompt\n\nmisty mountain monastery", "text"),
        "logo.svg": (media_samples.svg_bytes(), "logo"),
        "photo.jpg": (media_samples.jpeg_bytes(), "image"),
    }
    for name, (data, kind) in samples.items():
        response = clip_api.upload(name, data)
        assert response.status_code == 201, (name, response.text)
        asset = response.json()
        assert asset["type"] == kind, name
        assert asset["status"] == "ready", (name, asset.get("error"))
    video = clip_api.search(filters={"type": ["video"]}).json()["items"][0]["asset"]
    assert video["media"]["duration"] > 0 and video["media"]["codec"]
    thumb = clip_api.http.get(f"/v1/assets/{video['id']}/thumbnail")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"
    similar = clip_api.http.get(f"/v1/assets/{video['id']}/similar")
    assert similar.status_code == 200  # videos are embedded through their poster frame
    audio = clip_api.search(filters={"type": ["audio"]}).json()["items"][0]["asset"]
    no_vector = clip_api.http.get(f"/v1/assets/{audio['id']}/similar")
    assert no_vector.status_code == 422
    assert "no visual embedding" in no_vector.json()["detail"]


def test_without_weights_visual_endpoints_are_503(offline_api: Api) -> None:
    created = offline_api.upload("x.png", png((1, 200, 3)), prompt="teal kite").json()
    assert created["status"] == "ready"
    auto = offline_api.search(q="kite").json()  # the default mode falls back to keyword
    assert (auto["total"], auto["mode_used"]) == (1, "keyword")
    for response in (
        offline_api.http.get(f"/v1/assets/{created['id']}/similar"),
        offline_api.search(q="kite", mode="semantic"),
        offline_api.search(q="kite", mode="hybrid"),
        offline_api.http.post("/v1/search/by-image", files={"file": ("q.png", png((1, 2, 3)))}),
    ):
        assert response.status_code == 503, response.text
        problem = response.json()
        assert problem["title"] == "Service unavailable"
        assert "tiny" in problem["detail"].lower() or "clip" in problem["detail"].lower()
        assert response.headers["retry-after"]
    ready = offline_api.http.get("/v1/ready").json()
    assert ready["checks"]["visual_search"] == "unavailable"
