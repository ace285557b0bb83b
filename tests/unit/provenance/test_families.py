"""InvokeAI, NovelAI (incl. stealth), Fooocus, SwarmUI, EasyDiffusion, Draw Things,
Midjourney — each written into a real file and read back through `extract`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assetlens.domain import LoRA
from assetlens.provenance import extract, parse_a1111
from tests.unit.provenance import fixtures as fx


def test_invokeai_v3(tmp_path: Path) -> None:
    path = fx.png_with_texts(
        tmp_path / "i.png", {"invokeai_metadata": json.dumps(fx.INVOKE_V3), "invokeai_graph": "{}"}
    )
    gen = extract(path, "image/png")
    assert gen is not None
    assert gen.model_dump(exclude={"raw"}, exclude_defaults=True) == {
        "generator": "invokeai",
        "prompt": "a lighthouse, dramatic sky",
        "negative_prompt": "text",
        "model": "Juggernaut XL v9",
        "models": ["Juggernaut XL v9"],
        "model_hash": "0123456789abcdef",
        "vae": "sdxl-vae-fp16",
        "loras": [{"name": "pixel-art", "weight": 0.75}],
        "scheduler": "dpmpp_2m_k",
        "seed": 31337,
        "steps": 35,
        "cfg_scale": 6.0,
        "width": 1024,
        "height": 1024,
        "ai_generated": True,
        "texts": ["4.2.9", "sdxl_txt2img"],
    }


def test_invokeai_early_v3(tmp_path: Path) -> None:
    path = fx.png_with_texts(
        tmp_path / "i.png", {"invokeai_metadata": json.dumps(fx.INVOKE_V3_EARLY)}
    )
    gen = extract(path, "image/png")
    assert gen is not None
    assert (gen.prompt, gen.negative_prompt, gen.model) == ("an owl", None, "stable-diffusion-v1-5")
    assert gen.loras == [LoRA(name="owl-style", weight=0.5)]
    assert (gen.seed, gen.steps, gen.cfg_scale, gen.scheduler) == (7, 25, 7.5, "euler")


def test_invokeai_v2_sd_metadata(tmp_path: Path) -> None:
    path = fx.png_with_texts(tmp_path / "i.png", {"sd-metadata": json.dumps(fx.INVOKE_V2)})
    gen = extract(path, "image/png")
    assert gen is not None
    assert (gen.generator, gen.prompt, gen.negative_prompt) == (
        "invokeai",
        "a castle on a hill",
        "fog, people",
    )
    assert (gen.model, gen.seed, gen.sampler, gen.steps) == (
        "stable-diffusion-1.5",
        2288,
        "k_euler_a",
        50,
    )
    assert (gen.width, gen.height, gen.cfg_scale) == (512, 640, 7.5)


def test_invokeai_v1_dream(tmp_path: Path) -> None:
    path = fx.png_with_texts(tmp_path / "i.png", {"Dream": fx.INVOKE_DREAM})
    gen = extract(path, "image/png")
    assert gen is not None
    assert (gen.prompt, gen.negative_prompt) == ("a cat wearing a hat", "blurry")
    assert (gen.steps, gen.seed, gen.width, gen.height, gen.cfg_scale, gen.sampler) == (
        30,
        42,
        512,
        768,
        7.5,
        "k_lms",
    )


NOVELAI_EXPECTED = {
    "generator": "novelai",
    "prompt": "1girl, silver hair, starry sky",
    "negative_prompt": "lowres, bad hands",
    "model": "NovelAI Diffusion V4 4F49EC75",
    "models": ["NovelAI Diffusion V4 4F49EC75"],
    "model_hash": "4f49ec75",
    "sampler": "k_euler_ancestral",
    "scheduler": "karras",
    "seed": 1122334455,
    "steps": 28,
    "cfg_scale": 5.0,
    "width": 832,
    "height": 1216,
    "ai_generated": True,
    "texts": ["girl, smiling"],
}


def test_novelai_text_chunks(tmp_path: Path) -> None:
    path = fx.png_with_texts(tmp_path / "n.png", fx.NOVELAI_TEXTS)
    gen = extract(path, "image/png")
    assert gen is not None
    assert gen.model_dump(exclude={"raw"}, exclude_defaults=True) == NOVELAI_EXPECTED
    assert gen.raw == fx.NOVELAI_TEXTS["Comment"]


def test_novelai_stealth_alpha_pngcomp(tmp_path: Path) -> None:
    path = fx.stealth_png(tmp_path / "s.png", json.dumps(fx.NOVELAI_TEXTS).encode())
    assert b"tEXt" not in path.read_bytes()
    gen = extract(path, "image/png")
    assert gen is not None
    assert gen.model_dump(exclude={"raw"}, exclude_defaults=True) == NOVELAI_EXPECTED


def test_stealth_uncompressed_pnginfo_with_a1111_text(tmp_path: Path) -> None:
    path = fx.stealth_png(
        tmp_path / "s.png", fx.A1111_TEXT.encode(), magic=b"stealth_pnginfo", size=(64, 128)
    )
    gen = extract(path, "image/png")
    assert gen == parse_a1111(fx.A1111_TEXT)


def test_stealth_gzip_a1111_text(tmp_path: Path) -> None:
    path = fx.stealth_png(tmp_path / "s.png", fx.A1111_TEXT.encode(), size=(100, 50))
    gen = extract(path, "image/png")
    assert gen is not None
    assert gen.generator == "a1111"
    assert gen.seed == 1234567890


def test_stealth_plain_text_of_no_known_layout(tmp_path: Path) -> None:
    path = fx.stealth_png(tmp_path / "s.png", b"just words", magic=b"stealth_pnginfo")
    assert extract(path, "image/png") is None


def test_stealth_corrupt_gzip_is_no_provenance(tmp_path: Path) -> None:
    path = fx.stealth_png(tmp_path / "c.png", json.dumps(fx.NOVELAI_TEXTS).encode())
    pixels = np.array(Image.open(path))
    pixels[:, 4, 3] ^= 1  # flip every payload bit of the fifth column: gzip CRC fails
    Image.fromarray(pixels, "RGBA").save(path)
    assert extract(path, "image/png") is None


@pytest.mark.parametrize("scheme", ["fooocus", None])
def test_fooocus_json_scheme(tmp_path: Path, scheme: str | None) -> None:
    texts = {"parameters": json.dumps(fx.FOOOCUS)}
    if scheme:
        texts["fooocus_scheme"] = scheme
    gen = extract(fx.png_with_texts(tmp_path / "f.png", texts), "image/png")
    assert gen is not None
    assert gen.model_dump(exclude={"raw"}, exclude_defaults=True) == {
        "generator": "fooocus",
        "prompt": "a cozy cabin",
        "negative_prompt": "unrealistic",
        "model": "juggernautXL_v8Rundiffusion",
        "model_hash": "aeb7e9e689",
        "models": ["juggernautXL_v8Rundiffusion"],
        "vae": "Default (model)",
        "loras": [{"name": "sd_xl_offset_example-lora_1.0", "weight": 0.1}],
        "sampler": "dpmpp_2m_sde_gpu",
        "scheduler": "karras",
        "seed": 8158731372419011,
        "steps": 30,
        "cfg_scale": 4.0,
        "width": 1152,
        "height": 896,
        "ai_generated": True,
        "texts": [
            "['Fooocus V2', 'Fooocus Enhance']",
            "None",
            "Speed",
            "Fooocus v2.5.5",
            "a cozy cabin, cinematic",
        ],
    }


def test_fooocus_a1111_scheme(tmp_path: Path) -> None:
    text = (
        "a cabin\nNegative prompt: ugly\nSteps: 30, Sampler: DPM++ 2M SDE, Seed: 5, "
        "Size: 1152x896, Version: Fooocus v2.5.5"
    )
    path = fx.png_with_texts(tmp_path / "f.png", {"parameters": text, "fooocus_scheme": "a1111"})
    gen = extract(path, "image/png")
    assert gen is not None
    assert (gen.generator, gen.prompt, gen.negative_prompt, gen.seed) == (
        "fooocus",
        "a cabin",
        "ugly",
        5,
    )


def test_fooocus_jpeg_user_comment_and_software(tmp_path: Path) -> None:
    path = fx.jpeg_with_exif(
        tmp_path / "f.jpg", json.dumps(fx.FOOOCUS).encode(), software="Fooocus v2.5.5"
    )
    gen = extract(path, "image/jpeg")
    assert gen is not None
    assert (gen.generator, gen.prompt, gen.seed, gen.width) == (
        "fooocus",
        "a cozy cabin",
        8158731372419011,
        1152,
    )


def test_swarmui(tmp_path: Path) -> None:
    path = fx.png_with_texts(tmp_path / "s.png", {"parameters": json.dumps(fx.SWARMUI)})
    gen = extract(path, "image/png")
    assert gen is not None
    assert gen.model_dump(exclude={"raw"}, exclude_defaults=True) == {
        "generator": "swarmui",
        "prompt": "a koi pond, watercolor",
        "negative_prompt": "photo",
        "model": "OfficialStableDiffusion/sd_xl_base_1.0",
        "models": ["OfficialStableDiffusion/sd_xl_base_1.0"],
        "model_hash": "31e35c80fc4829d14f90153f4c74cd59c90b779f6afe05a74cd6120b893f7e5b",
        "loras": [{"name": "koi_style", "weight": 0.9}],
        "sampler": "dpmpp_3m_sde",
        "scheduler": "karras",
        "seed": 99,
        "steps": 24,
        "cfg_scale": 6.5,
        "width": 1344,
        "height": 768,
        "ai_generated": True,
        "texts": ["0.9.5.1"],
    }


def test_easydiffusion_one_key_per_field(tmp_path: Path) -> None:
    path = fx.png_with_texts(tmp_path / "e.png", fx.EASYDIFFUSION)
    gen = extract(path, "image/png")
    assert gen is not None
    assert gen.model_dump(exclude={"raw"}, exclude_defaults=True) == {
        "generator": "easydiffusion",
        "prompt": "a snowy mountain village",
        "negative_prompt": "people",
        "model": "sd-v1-4",
        "models": ["sd-v1-4"],
        "vae": "vae-ft-mse-840000-ema-pruned",
        "loras": [{"name": "snowy", "weight": 0.6}],
        "sampler": "euler_a",
        "seed": 3829,
        "steps": 25,
        "cfg_scale": 7.5,
        "width": 512,
        "height": 512,
        "ai_generated": True,
    }


def test_drawthings_xmp_user_comment(tmp_path: Path) -> None:
    xmp = fx.xmp_packet({"UserComment": json.dumps(fx.DRAWTHINGS), "CreatorTool": "Draw Things"})
    path = fx.jpeg_with_exif(tmp_path / "d.jpg", xmp=xmp)
    gen = extract(path, "image/jpeg")
    assert gen is not None
    assert gen.model_dump(exclude={"raw"}, exclude_defaults=True) == {
        "generator": "drawthings",
        "prompt": "a robot tending a garden",
        "negative_prompt": "cartoon",
        "model": "flux_1_schnell_q5p",
        "models": ["flux_1_schnell_q5p"],
        "loras": [{"name": "garden_lora_f16", "weight": 0.7}],
        "sampler": "DPM++ 2M Karras",
        "seed": 4242,
        "steps": 8,
        "cfg_scale": 4.5,
        "width": 768,
        "height": 1024,
        "denoise": 1.0,
        "ai_generated": True,
    }


def test_midjourney_description_and_job_id(tmp_path: Path) -> None:
    path = fx.png_with_texts(
        tmp_path / "m.png", {"Description": fx.MIDJOURNEY_DESCRIPTION, "Author": "someone"}
    )
    gen = extract(path, "image/png")
    assert gen is not None
    assert gen.model_dump(exclude={"raw"}, exclude_defaults=True) == {
        "generator": "midjourney",
        "provider": "midjourney",
        "prompt": "a vintage travel poster of Mars",
        "model": "Midjourney v6.1",
        "seed": 1234,
        "models": ["Midjourney v6.1"],
        "job_id": "3f2b9c1e-8d4a-4c6b-9e1f-0a1b2c3d4e5f",
        "ai_generated": True,
        "texts": ["--ar 2:1 --v 6.1 --seed 1234"],
    }


def test_xmp_digital_source_type_marks_ai(tmp_path: Path) -> None:
    xmp = fx.xmp_packet({"DigitalSourceType": fx.AI_SOURCE})
    gen = extract(fx.jpeg_with_exif(tmp_path / "x.jpg", xmp=xmp), "image/jpeg")
    assert gen is not None
    assert gen.ai_generated is True
    assert gen.generator is None
    assert gen.prompt is None
