"""Files from every generator family, uploaded through the API, are found by words of their
prompts and counted in the model and generator facets (PROVENANCE.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Api
from tests.unit.provenance import fixtures as fx

# family → (make the file, a prompt word to search, expected model, expected generator)
Family = tuple[Callable[[Path], Path], str, str, str]
FAMILIES: dict[str, Family] = {
    "a1111": (
        lambda d: fx.png_with_texts(d / "a.png", {"parameters": fx.A1111_TEXT}),
        "masterpiece",
        "juggernautXL_v9",
        "a1111",
    ),
    "comfyui": (
        lambda d: fx.png_with_texts(
            d / "c.png",
            {"prompt": json.dumps(fx.COMFY_API), "workflow": json.dumps(fx.comfy_ui_workflow())},
        ),
        "fox",
        "sdxl/base",
        "comfyui",
    ),
    "invokeai": (
        lambda d: fx.png_with_texts(d / "i.png", {"invokeai_metadata": json.dumps(fx.INVOKE_V3)}),
        "lighthouse",
        "Juggernaut XL v9",
        "invokeai",
    ),
    "novelai": (
        lambda d: fx.png_with_texts(d / "n.png", fx.NOVELAI_TEXTS),
        "starry",
        "NovelAI Diffusion V4 4F49EC75",
        "novelai",
    ),
    "fooocus": (
        lambda d: fx.png_with_texts(
            d / "f.png", {"parameters": json.dumps(fx.FOOOCUS), "fooocus_scheme": "fooocus"}
        ),
        "cabin",
        "juggernautXL_v8Rundiffusion",
        "fooocus",
    ),
    "swarmui": (
        lambda d: fx.png_with_texts(d / "s.png", {"parameters": json.dumps(fx.SWARMUI)}),
        "koi",
        "OfficialStableDiffusion/sd_xl_base_1.0",
        "swarmui",
    ),
    "easydiffusion": (
        lambda d: fx.png_with_texts(d / "e.png", fx.EASYDIFFUSION),
        "village",
        "sd-v1-4",
        "easydiffusion",
    ),
    "drawthings": (
        lambda d: fx.jpeg_with_exif(
            d / "d.jpg",
            xmp=fx.xmp_packet(
                {"UserComment": json.dumps(fx.DRAWTHINGS), "CreatorTool": "Draw Things"}
            ),
        ),
        "robot",
        "flux_1_schnell_q5p",
        "drawthings",
    ),
    "midjourney": (
        lambda d: fx.png_with_texts(
            d / "m.png", {"Description": fx.MIDJOURNEY_DESCRIPTION, "Author": "someone"}
        ),
        "mars",
        "Midjourney v6.1",
        "midjourney",
    ),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_generator_family_is_searchable_and_faceted(api: Api, tmp_path: Path, family: str) -> None:
    make, word, model, generator = FAMILIES[family]
    path = make(tmp_path)
    response = api.upload(path.name, path.read_bytes())
    assert response.status_code == 201, response.text
    asset = response.json()
    assert asset["generation"]["generator"] == generator
    assert asset["generation"]["model"] == model
    assert asset["generation_parsed"]["prompt"]
    body = api.search(
        q=word, filters={"generator": [generator]}, facets=["model", "generator"]
    ).json()
    assert asset["id"] in [item["asset"]["id"] for item in body["items"]]
    assert {"value": model, "count": 1} in body["facets"]["model"]
    assert {"value": generator, "count": 1} in body["facets"]["generator"]


def test_c2pa_manifest_is_read_and_marks_ai(api: Api, tmp_path: Path) -> None:
    path = fx.c2pa_signed_png(tmp_path / "chatgpt.png")
    asset = api.upload("chatgpt.png", path.read_bytes()).json()
    generation = asset["generation"]
    assert generation["ai_generated"] is True
    assert generation["c2pa"]["validation_state"] == "Valid"
    body = api.search(filters={"ai_generated": True, "ids": [asset["id"]]}).json()
    assert body["total"] == 1


def test_client_metadata_wins_but_parsed_is_kept(api: Api, tmp_path: Path) -> None:
    path = fx.png_with_texts(tmp_path / "x.png", {"parameters": fx.A1111_TEXT})
    asset = api.upload(
        "x.png",
        path.read_bytes() + b"",
        metadata=json.dumps({"model": "my-finetune", "cost": 0.02}),
    ).json()
    assert asset["generation"]["model"] == "my-finetune"
    assert asset["generation"]["cost"] == 0.02
    assert asset["generation"]["seed"] == 1234567890  # parsed fields fill the rest
    assert asset["generation_parsed"]["model"] == "juggernautXL_v9"
    assert asset["generation_client"]["model"] == "my-finetune"
