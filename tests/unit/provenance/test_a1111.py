"""A1111 / Forge / SD.Next parameters text."""

from __future__ import annotations

from pathlib import Path

from assetlens.domain import LoRA
from assetlens.provenance import extract, parse_a1111
from assetlens.provenance.a1111 import split_pairs
from tests.unit.provenance import fixtures as fx


def test_full_layout() -> None:
    gen = parse_a1111(fx.A1111_TEXT)
    assert gen.generator == "a1111"
    assert gen.prompt == (
        "masterpiece, best quality, 1girl, <lora:add_detail:0.5>, <lora:film grain:1>\n"
        "city at night"
    )
    assert gen.negative_prompt == "lowres, bad anatomy\nworst quality"
    assert (gen.steps, gen.sampler, gen.scheduler) == (28, "DPM++ 2M", "Karras")
    assert (gen.cfg_scale, gen.seed, gen.width, gen.height) == (7.5, 1234567890, 832, 1216)
    assert (gen.model, gen.model_hash, gen.vae) == ("juggernautXL_v9", "6ce0161689", "sdxl_vae")
    assert gen.denoise == 0.45
    assert gen.loras == [LoRA(name="add_detail", weight=0.5), LoRA(name="film grain", weight=1.0)]
    assert gen.texts == ["sd_xl_refiner_1.0", "detailed face, smile"]
    assert gen.ai_generated is True
    assert gen.raw == fx.A1111_TEXT


def test_png_roundtrip(tmp_path: Path) -> None:
    path = fx.png_with_texts(tmp_path / "a.png", {"parameters": fx.A1111_TEXT})
    gen = extract(path, "image/png")
    assert gen is not None
    assert gen == parse_a1111(fx.A1111_TEXT)


def test_multiline_cjk_emoji_prompt_forces_itxt(tmp_path: Path) -> None:
    text = (
        "桜の木の下の猫 🐱🌸\n夜景、高精細\n"
        "Negative prompt: 低品質 😡\n"
        "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x512"
    )
    path = fx.png_with_texts(tmp_path / "cjk.png", {"parameters": text})
    assert b"iTXt" in path.read_bytes()
    assert b"tEXt" not in path.read_bytes()
    gen = extract(path, "image/png")
    assert gen is not None
    assert gen.prompt == "桜の木の下の猫 🐱🌸\n夜景、高精細"
    assert gen.negative_prompt == "低品質 😡"
    assert (gen.steps, gen.sampler, gen.cfg_scale, gen.seed) == (20, "Euler a", 7.0, 42)
    assert (gen.width, gen.height) == (512, 512)


def test_no_negative_prompt() -> None:
    gen = parse_a1111("a house\nSteps: 10, Sampler: Euler, Seed: 3")
    assert gen.prompt == "a house"
    assert gen.negative_prompt is None
    assert (gen.steps, gen.seed) == (10, 3)


def test_fewer_than_three_pairs_is_all_prompt() -> None:
    gen = parse_a1111("a portrait\nStyle: noir, Mood: calm")
    assert gen.prompt == "a portrait\nStyle: noir, Mood: calm"
    assert gen.steps is None
    assert gen.seed is None


def test_negative_without_parameter_line_still_split() -> None:
    gen = parse_a1111("a dog\nNegative prompt: cat")
    assert (gen.prompt, gen.negative_prompt) == ("a dog", "cat")


def test_empty_prompt_negative_first() -> None:
    gen = parse_a1111("Negative prompt: blur\nSteps: 5, Seed: 1, CFG scale: 2")
    assert gen.prompt is None
    assert gen.negative_prompt == "blur"


def test_quoted_values_with_colon_comma_and_newline() -> None:
    line = (
        'Steps: 20, Sampler: Euler, ADetailer prompt: "face: smiling, eyes\\nopen", '
        'Lora hashes: "a: 111, b: 222", Seed: 9'
    )
    pairs = dict(split_pairs(line))
    assert pairs["ADetailer prompt"] == "face: smiling, eyes\nopen"
    assert pairs["Lora hashes"] == "a: 111, b: 222"
    gen = parse_a1111("x\n" + line)
    assert gen.seed == 9
    assert gen.texts == ["face: smiling, eyes\nopen"]


def test_civitai_unquoted_json_values() -> None:
    text = (
        "a castle\nNegative prompt: fog\n"
        "Steps: 25, Sampler: DPM++ 2M Karras, CFG scale: 5, Seed: 77, Size: 1024x1024, "
        'Model hash: 31e35c80fc, Hashes: {"model": "31e35c80fc", "lora:x": "abc, def"}, '
        'Civitai resources: [{"type": "checkpoint", "modelVersionId": 1}, {"type": "lora"}], '
        "Version: v1.9.4"
    )
    pairs = dict(split_pairs(text.splitlines()[-1]))
    assert pairs["Hashes"] == '{"model": "31e35c80fc", "lora:x": "abc, def"}'
    assert pairs["Civitai resources"].startswith("[{")
    assert pairs["Civitai resources"].endswith("}]")
    assert pairs["Version"] == "v1.9.4"
    gen = parse_a1111(text)
    assert (gen.seed, gen.model_hash, gen.width) == (77, "31e35c80fc", 1024)


def test_legacy_8_hex_hash_and_bad_hash() -> None:
    assert parse_a1111("p\nSteps: 1, Seed: 2, Model hash: 7460a6fa").model_hash == "7460a6fa"
    assert parse_a1111("p\nSteps: 1, Seed: 2, Model hash: zz-not-hex").model_hash is None


def test_forge_distilled_cfg_and_version() -> None:
    gen = parse_a1111(
        "flux cat\nSteps: 20, Sampler: Euler, Schedule type: Simple, Distilled CFG Scale: 3.5, "
        "Seed: 1, Size: 896x1152, Model: flux1-dev-bnb-nf4-v2, Version: f2.0.1v1.10.1-previous"
    )
    assert gen.generator == "forge"
    assert gen.cfg_scale == 3.5


def test_sdnext_app_key() -> None:
    gen = parse_a1111("p\nSteps: 1, Seed: 2, Sampler: UniPC, App: SD.Next, Version: 4d9e8ec")
    assert gen.generator == "sdnext"
