"""EasyDiffusion: one PNG text key per field (the JSON sidecar uses the same keys)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from assetlens.domain import Generation, LoRA
from assetlens.provenance.coerce import (
    cap_raw,
    finish,
    to_count,
    to_float,
    to_int,
    to_name,
    to_text,
)

_MARKERS = {"use_stable_diffusion_model", "num_inference_steps", "guidance_scale"}


def is_easydiffusion(fields: Mapping[str, Any]) -> bool:
    """True when at least two EasyDiffusion-specific keys are present."""
    return len(_MARKERS & set(fields)) >= 2


def parse_easydiffusion(fields: Mapping[str, Any]) -> Generation:
    """Normalised fields from EasyDiffusion's keys."""
    gen = Generation(
        generator="easydiffusion",
        prompt=to_text(fields.get("prompt")),
        negative_prompt=to_text(fields.get("negative_prompt")),
        model=to_name(fields.get("use_stable_diffusion_model")),
        vae=to_name(fields.get("use_vae_model")),
        sampler=to_text(fields.get("sampler_name"), 128),
        seed=to_int(fields.get("seed")),
        steps=to_count(fields.get("num_inference_steps")),
        cfg_scale=to_float(fields.get("guidance_scale")),
        width=to_count(fields.get("width")),
        height=to_count(fields.get("height")),
        denoise=to_float(fields.get("prompt_strength")),
        raw=cap_raw(
            "\n".join(f"{k}: {v}" for k, v in fields.items() if isinstance(v, str | int | float))
        ),
    )
    lora = fields.get("use_lora_model")
    if isinstance(lora, str) and lora.strip():
        names = [n.strip() for n in lora.split(",")]
        weights = str(fields.get("lora_alpha", "")).split(",")
        for index, name in enumerate(names):
            clean = to_name(name)
            if clean:
                weight = to_float(weights[index]) if index < len(weights) else None
                gen.loras.append(LoRA(name=clean, weight=weight))
    return finish(gen)
