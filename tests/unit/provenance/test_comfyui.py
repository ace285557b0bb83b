"""ComfyUI API and UI graphs in PNG, animated WebP and MP4."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assetlens.domain import LoRA
from assetlens.provenance import extract, parse_api_graph, parse_comfyui
from tests.unit.provenance import fixtures as fx


def _assert_fox(gen: Any) -> None:
    assert gen is not None
    assert gen.generator == "comfyui"
    assert gen.prompt == "a red fox in the snow"
    assert gen.negative_prompt == "blurry, watermark"
    assert gen.model == "sdxl/base"
    assert gen.loras == [LoRA(name="style_a", weight=0.8), LoRA(name="detail_b", weight=0.35)]
    assert (gen.seed, gen.steps, gen.cfg_scale) == (987654321, 30, 6.5)
    assert (gen.sampler, gen.scheduler, gen.denoise) == ("dpmpp_2m", "karras", 1.0)
    assert (gen.width, gen.height, gen.vae) == (1024, 768, "sdxl_vae")
    assert "canny.safetensors" in gen.texts
    assert "fox_run" in gen.texts
    assert gen.ai_generated is True


def test_api_graph_lora_chain_controlnet_and_main_sampler(tmp_path: Path) -> None:
    # Two samplers: the one fed by EmptyLatentImage (node 11) wins over the upscale pass.
    path = fx.png_with_texts(tmp_path / "c.png", {"prompt": json.dumps(fx.COMFY_API)})
    _assert_fox(extract(path, "image/png"))


def test_ui_graph_only_skips_muted_and_passes_through_bypassed(tmp_path: Path) -> None:
    path = fx.png_with_texts(tmp_path / "w.png", {"workflow": json.dumps(fx.comfy_ui_workflow())})
    gen = extract(path, "image/png")
    assert gen is not None
    assert gen.generator == "comfyui"
    assert gen.prompt == "an astronaut riding a horse"
    assert gen.negative_prompt == "ugly"
    assert gen.model == "flux1-dev"
    assert gen.loras == [LoRA(name="kept", weight=0.6)]
    assert (gen.seed, gen.steps, gen.cfg_scale, gen.sampler, gen.scheduler) == (
        42,
        20,
        3.5,
        "euler",
        "simple",
    )
    assert (gen.width, gen.height) == (896, 1152)
    joined = " ".join(gen.texts)
    assert "muted prompt" not in joined
    assert "bypassed" not in joined


def test_api_graph_wins_over_ui_graph() -> None:
    gen = parse_comfyui(json.dumps(fx.COMFY_API), json.dumps(fx.comfy_ui_workflow()))
    _assert_fox(gen)


def test_flux_sampler_custom_advanced() -> None:
    graph = {
        "1": {
            "class_type": "UNETLoader",
            "inputs": {"unet_name": "flux1-dev.sft", "weight_dtype": "fp8"},
        },
        "2": {
            "class_type": "LoraLoaderModelOnly",
            "inputs": {"lora_name": "ink.safetensors", "strength_model": 1.1, "model": ["1", 0]},
        },
        "3": {"class_type": "ModelSamplingFlux", "inputs": {"model": ["2", 0], "max_shift": 1.15}},
        "4": {
            "class_type": "CLIPTextEncodeFlux",
            "inputs": {
                "clip_l": "ink drawing of a whale",
                "t5xxl": "ink drawing of a whale",
                "guidance": 3.5,
                "clip": ["9", 0],
            },
        },
        "5": {"class_type": "FluxGuidance", "inputs": {"conditioning": ["4", 0], "guidance": 3.5}},
        "6": {"class_type": "BasicGuider", "inputs": {"model": ["3", 0], "conditioning": ["5", 0]}},
        "7": {"class_type": "RandomNoise", "inputs": {"noise_seed": 2**64 - 1}},
        "8": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}},
        "10": {
            "class_type": "BasicScheduler",
            "inputs": {"scheduler": "beta", "steps": 28, "denoise": 1, "model": ["3", 0]},
        },
        "11": {
            "class_type": "EmptySD3LatentImage",
            "inputs": {"width": 1024, "height": 1024, "batch_size": 1},
        },
        "12": {
            "class_type": "SamplerCustomAdvanced",
            "inputs": {
                "noise": ["7", 0],
                "guider": ["6", 0],
                "sampler": ["8", 0],
                "sigmas": ["10", 0],
                "latent_image": ["11", 0],
            },
        },
    }
    gen = parse_api_graph(graph)
    assert gen.prompt == "ink drawing of a whale"
    assert gen.negative_prompt is None
    assert gen.model == "flux1-dev"
    assert gen.loras == [LoRA(name="ink", weight=1.1)]
    # 2**64-1 does not fit a signed 64-bit index field: dropped rather than overflowing.
    assert gen.seed is None
    assert (gen.sampler, gen.scheduler, gen.steps, gen.denoise) == ("euler", "beta", 28, 1.0)
    assert (gen.width, gen.height) == (1024, 1024)


def test_sdxl_encoder_combine_and_seed_primitive() -> None:
    graph = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "xl.ckpt"}},
        "2": {
            "class_type": "CLIPTextEncodeSDXL",
            "inputs": {"text_g": "a glass sculpture", "text_l": "a glass sculpture", "width": 1024},
        },
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "studio lighting"}},
        "4": {
            "class_type": "ConditioningCombine",
            "inputs": {"conditioning_1": ["2", 0], "conditioning_2": ["3", 0]},
        },
        "5": {"class_type": "StringConcat", "inputs": {"string_a": "grainy", "string_b": "dark"}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": ["5", 0]}},
        "7": {"class_type": "Seed (rgthree)", "inputs": {"seed": 123}},
        "8": {
            "class_type": "KSamplerAdvanced",
            "inputs": {
                "noise_seed": ["7", 0],
                "steps": 12,
                "cfg": 4,
                "sampler_name": "dpmpp_sde",
                "scheduler": "normal",
                "model": ["1", 0],
                "positive": ["4", 0],
                "negative": ["6", 0],
                "latent_image": ["9", 0],
            },
        },
        "9": {"class_type": "VAEEncode", "inputs": {"pixels": ["10", 0]}},
    }
    gen = parse_api_graph(graph)
    assert gen.prompt == "a glass sculpture\nstudio lighting"
    assert gen.negative_prompt == "grainy dark"
    assert (gen.seed, gen.steps, gen.cfg_scale, gen.model) == (123, 12, 4.0, "xl")
    assert gen.width is None


def test_graph_with_link_cycle_terminates() -> None:
    graph = {
        "1": {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": ["2", 0]}},
        "2": {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": ["1", 0]}},
        "3": {"class_type": "LoraLoader", "inputs": {"lora_name": "x", "model": ["3", 0]}},
        "4": {
            "class_type": "KSampler",
            "inputs": {"positive": ["1", 0], "model": ["3", 0], "seed": "NaN", "cfg": float("inf")},
        },
    }
    gen = parse_api_graph(graph)
    assert gen.prompt is None
    assert gen.model is None
    assert gen.seed is None
    assert gen.cfg_scale is None


def test_animated_webp_exif_prompt_and_workflow(tmp_path: Path) -> None:
    path = fx.animated_webp_comfy(tmp_path / "a.webp", fx.COMFY_API, fx.comfy_ui_workflow())
    _assert_fox(extract(path, "image/webp"))


def test_mp4_udta_meta_keys(tmp_path: Path) -> None:
    path = fx.mp4_with_metadata(
        tmp_path / "v.mp4",
        {"prompt": json.dumps(fx.COMFY_API), "workflow": json.dumps(fx.comfy_ui_workflow())},
    )
    _assert_fox(extract(path, "video/mp4"))


def test_videohelpersuite_comment(tmp_path: Path) -> None:
    comment = json.dumps({"prompt": fx.COMFY_API, "workflow": fx.comfy_ui_workflow()})
    path = fx.mp4_with_metadata(tmp_path / "vhs.mp4", {"comment": comment})
    _assert_fox(extract(path, "video/mp4"))


def test_video_without_metadata(tmp_path: Path) -> None:
    path = fx.mp4_with_metadata(tmp_path / "plain.mp4", {"title": "holiday"})
    assert extract(path, "video/mp4") is None


def test_a_class_type_that_is_not_a_string_is_ignored() -> None:
    # Found by the fuzz test: a list there made every set lookup raise TypeError.
    graph: dict[str, dict[str, Any]] = {
        "1": {"class_type": [], "inputs": {}},
        "2": {"class_type": "LoadImage", "inputs": {"image": "in.png"}},
        "3": {"class_type": {"x": 1}, "inputs": {"ckpt_name": "m.safetensors"}},
    }
    gen = parse_api_graph(graph)
    assert gen is not None and gen.input_images == ["in.png"] and gen.model is None
