"""Sidecar provenance beside a media file (assetlens ingest DIR)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assetlens.provenance import parse_a1111, read_sidecar
from tests.unit.provenance import fixtures as fx


def _media(tmp_path: Path) -> Path:
    media = tmp_path / "render.png"
    fx.write_png(media, [])
    return media


def test_stem_txt_a1111(tmp_path: Path) -> None:
    media = _media(tmp_path)
    (tmp_path / "render.txt").write_text(fx.A1111_TEXT, encoding="utf-8")
    assert read_sidecar(media) == parse_a1111(fx.A1111_TEXT)


@pytest.mark.parametrize(
    ("document", "generator", "prompt"),
    [
        (fx.COMFY_API, "comfyui", "a red fox in the snow"),
        (fx.comfy_ui_workflow(), "comfyui", "an astronaut riding a horse"),
        (
            {"prompt": fx.COMFY_API, "workflow": fx.comfy_ui_workflow()},
            "comfyui",
            "a red fox in the snow",
        ),
        (fx.INVOKE_V3, "invokeai", "a lighthouse, dramatic sky"),
        (fx.INVOKE_V2, "invokeai", "a castle on a hill"),
        (fx.NOVELAI_COMMENT, "novelai", "1girl, silver hair, starry sky"),
        (fx.NOVELAI_TEXTS, "novelai", "1girl, silver hair, starry sky"),
        (fx.SWARMUI, "swarmui", "a koi pond, watercolor"),
        (fx.FOOOCUS, "fooocus", "a cozy cabin"),
        (fx.EASYDIFFUSION, "easydiffusion", "a snowy mountain village"),
        (fx.DRAWTHINGS, "drawthings", "a robot tending a garden"),
    ],
)
def test_name_json_layouts(tmp_path: Path, document: object, generator: str, prompt: str) -> None:
    media = _media(tmp_path)
    (tmp_path / "render.png.json").write_text(json.dumps(document), encoding="utf-8")
    gen = read_sidecar(media)
    assert gen is not None
    assert (gen.generator, gen.prompt) == (generator, prompt)


def test_specific_name_wins_and_garbage_falls_through(tmp_path: Path) -> None:
    media = _media(tmp_path)
    (tmp_path / "render.png.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "render.png.txt").write_text("just a note", encoding="utf-8")
    (tmp_path / "render.json").write_text(json.dumps(fx.SWARMUI), encoding="utf-8")
    gen = read_sidecar(media)
    assert gen is not None
    assert gen.generator == "swarmui"


def test_no_sidecar(tmp_path: Path) -> None:
    media = _media(tmp_path)
    assert read_sidecar(media) is None
    (tmp_path / "render.txt").write_bytes(b"\xff\xfe\x00garbage")
    assert read_sidecar(media) is None
