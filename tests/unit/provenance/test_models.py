"""Every checkpoint of a multi-pass workflow is recorded in `Generation.models` (the primary,
the main sampler's, first) — ComfyUI graphs with several samplers, A1111 refiner and hires
checkpoints, Fooocus/SwarmUI/InvokeAI refiners — and how client-given models merge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest
from pydantic import ValidationError

from assetlens.domain import MAX_MODELS, Generation
from assetlens.provenance import extract, parse_a1111, parse_api_graph
from tests.unit.provenance import fixtures as fx

# SDXL base + refiner in one graph: the refiner's sampler has the lower node id, yet the
# base's (fed by the empty latent) is the main one and its checkpoint comes first.
SDXL_BASE_REFINER: dict[str, Any] = {
    "4": {
        "class_type": "CheckpointLoaderSimple",
        "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"},
    },
    "5": {
        "class_type": "EmptyLatentImage",
        "inputs": {"width": 1024, "height": 1024, "batch_size": 1},
    },
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a castle", "clip": ["4", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
    "12": {
        "class_type": "CheckpointLoaderSimple",
        "inputs": {"ckpt_name": "sd_xl_refiner_1.0.safetensors"},
    },
    "11": {
        "class_type": "KSamplerAdvanced",
        "inputs": {
            "noise_seed": 7,
            "steps": 25,
            "cfg": 8,
            "sampler_name": "euler",
            "scheduler": "normal",
            "model": ["12", 0],
            "positive": ["6", 0],
            "negative": ["7", 0],
            "latent_image": ["10", 0],
            "start_at_step": 20,
            "end_at_step": 10000,
        },
    },
    "10": {
        "class_type": "KSamplerAdvanced",
        "inputs": {
            "noise_seed": 42,
            "steps": 25,
            "cfg": 8,
            "sampler_name": "euler",
            "scheduler": "normal",
            "model": ["4", 0],
            "positive": ["6", 0],
            "negative": ["7", 0],
            "latent_image": ["5", 0],
            "start_at_step": 0,
            "end_at_step": 20,
        },
    },
}

# A Flux UNet pass, then an img2img (hires) pass with an SD 1.5 checkpoint through a LoRA.
FLUX_THEN_SD15: dict[str, Any] = {
    "1": {
        "class_type": "UNETLoader",
        "inputs": {"unet_name": "flux1-dev.sft", "weight_dtype": "fp8"},
    },
    "2": {
        "class_type": "EmptySD3LatentImage",
        "inputs": {"width": 512, "height": 512, "batch_size": 1},
    },
    "3": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 1,
            "steps": 20,
            "cfg": 1,
            "sampler_name": "euler",
            "scheduler": "simple",
            "denoise": 1,
            "model": ["1", 0],
            "positive": ["9", 0],
            "negative": ["9", 0],
            "latent_image": ["2", 0],
        },
    },
    "4": {
        "class_type": "CheckpointLoaderSimple",
        "inputs": {"ckpt_name": "sd15/dreamshaper_8.safetensors"},
    },
    "5": {
        "class_type": "LoraLoader",
        "inputs": {"lora_name": "detail.safetensors", "strength_model": 0.5, "model": ["4", 0]},
    },
    "6": {"class_type": "LatentUpscaleBy", "inputs": {"samples": ["3", 0], "scale_by": 2}},
    "7": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 2,
            "steps": 12,
            "cfg": 6,
            "sampler_name": "dpmpp_2m",
            "scheduler": "karras",
            "denoise": 0.4,
            "model": ["5", 0],
            "positive": ["9", 0],
            "negative": ["9", 0],
            "latent_image": ["6", 0],
        },
    },
    "9": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse"}},
}


def test_comfyui_base_and_refiner_both_counted_main_sampler_first() -> None:
    gen = parse_api_graph(SDXL_BASE_REFINER)
    assert gen.model == "sd_xl_base_1.0"
    assert gen.models == ["sd_xl_base_1.0", "sd_xl_refiner_1.0"]
    assert gen.seed == 42  # the main sampler's settings, not the refiner's


def test_comfyui_unet_then_checkpoint_hires_pass() -> None:
    gen = parse_api_graph(FLUX_THEN_SD15)
    assert gen.models == ["flux1-dev", "sd15/dreamshaper_8"]
    assert gen.model == "flux1-dev"
    assert [lora.name for lora in gen.loras] == []  # the main chain has no LoRA


def test_comfyui_one_checkpoint_shared_by_two_samplers_is_counted_once() -> None:
    gen = parse_api_graph(fx.COMFY_API)
    assert gen.models == ["sdxl/base"]


def test_comfyui_in_a_png_keeps_every_model(tmp_path: Path) -> None:
    path = fx.png_with_texts(tmp_path / "r.png", {"prompt": json.dumps(SDXL_BASE_REFINER)})
    gen = extract(path, "image/png")
    assert gen is not None
    assert gen.models == ["sd_xl_base_1.0", "sd_xl_refiner_1.0"]


def test_a1111_refiner_then_hires_checkpoint() -> None:
    text = fx.A1111_TEXT.replace(
        "Version:",
        "Hires upscale: 2, Hires checkpoint: epicrealism_v5.safetensors [1a2b3c4d5e], Version:",
    )
    gen = parse_a1111(text)
    assert gen.model == "juggernautXL_v9"
    assert gen.models == ["juggernautXL_v9", "sd_xl_refiner_1.0", "epicrealism_v5"]


def test_a1111_without_a_second_checkpoint_has_one_model() -> None:
    gen = parse_a1111("a cat\nSteps: 20, Sampler: Euler a, Seed: 1, Model: sd15")
    assert gen.models == ["sd15"]


def test_fooocus_refiner_model(tmp_path: Path) -> None:
    data = {**fx.FOOOCUS, "refiner_model": "sd_xl_refiner_1.0.safetensors"}
    gen = extract(
        fx.png_with_texts(tmp_path / "f.png", {"parameters": json.dumps(data)}), "image/png"
    )
    assert gen is not None
    assert gen.models == ["juggernautXL_v8Rundiffusion", "sd_xl_refiner_1.0"]


def test_swarmui_refiner_model(tmp_path: Path) -> None:
    params = cast(dict[str, Any], fx.SWARMUI["sui_image_params"])
    data = {**fx.SWARMUI, "sui_image_params": {**params, "refinermodel": "sd_xl_refiner_1.0"}}
    gen = extract(
        fx.png_with_texts(tmp_path / "s.png", {"parameters": json.dumps(data)}), "image/png"
    )
    assert gen is not None
    assert gen.models == ["OfficialStableDiffusion/sd_xl_base_1.0", "sd_xl_refiner_1.0"]


def test_invokeai_refiner_model(tmp_path: Path) -> None:
    data = {**fx.INVOKE_V3, "refiner_model": {"key": "r", "name": "sdxl-refiner-1.0"}}
    gen = extract(
        fx.png_with_texts(tmp_path / "i.png", {"invokeai_metadata": json.dumps(data)}), "image/png"
    )
    assert gen is not None
    assert gen.models == ["Juggernaut XL v9", "sdxl-refiner-1.0"]


def test_a_manifest_from_before_models_reads_its_model_as_the_list() -> None:
    assert Generation.model_validate({"model": "sd15"}).models == ["sd15"]
    assert Generation.model_validate({"models": ["a", "b", "a"]}).model == "a"
    assert Generation.model_validate({"models": ["a", "b", "a"]}).models == ["a", "b"]
    assert Generation().models == []


def test_client_model_becomes_the_primary_and_the_parsed_ones_stay() -> None:
    parsed = Generation(model="base", models=["base", "refiner"])
    other = Generation.model_validate({"model": "mine"}).merged_over(parsed)
    assert (other.model, other.models) == ("mine", ["mine", "base", "refiner"])
    same = Generation.model_validate({"model": "base"}).merged_over(parsed)
    assert (same.model, same.models) == ("base", ["base", "refiner"])
    untouched = Generation.model_validate({"seed": 3}).merged_over(parsed)
    assert (untouched.model, untouched.models, untouched.seed) == ("base", ["base", "refiner"], 3)


def test_too_many_client_models_are_refused() -> None:
    with pytest.raises(ValidationError):
        Generation.model_validate({"models": [f"m{i}" for i in range(MAX_MODELS + 1)]})
