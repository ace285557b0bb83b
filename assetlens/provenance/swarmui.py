"""SwarmUI: `parameters` = {"sui_image_params": {...}, "sui_models": [...], ...}."""

from __future__ import annotations

from typing import Any

from assetlens.domain import Generation, LoRA
from assetlens.provenance.coerce import (
    cap_raw,
    finish,
    load_json,
    to_count,
    to_float,
    to_hash,
    to_int,
    to_name,
    to_text,
)


def is_swarmui(obj: Any) -> bool:
    """True for SwarmUI's parameters JSON."""
    return isinstance(obj, dict) and isinstance(obj.get("sui_image_params"), dict)


def parse_swarmui(text: str) -> Generation | None:
    """SwarmUI's `sui_image_params` (model hash from `sui_models` when present)."""
    data = load_json(text)
    if not is_swarmui(data):
        return None
    p: dict[str, Any] = data["sui_image_params"]
    gen = Generation(
        generator="swarmui",
        prompt=to_text(p.get("prompt")),
        negative_prompt=to_text(p.get("negativeprompt")),
        model=to_name(p.get("model")),
        seed=to_int(p.get("seed")),
        steps=to_count(p.get("steps")),
        cfg_scale=to_float(p.get("cfgscale")),
        width=to_count(p.get("width")),
        height=to_count(p.get("height")),
        sampler=to_text(p.get("sampler"), 128),
        scheduler=to_text(p.get("scheduler"), 128),
        vae=to_name(p.get("vae")),
        denoise=to_float(p.get("initimagecreativity")),
        raw=cap_raw(text),
    )
    refiner = to_name(p.get("refinermodel"))
    if refiner:
        gen.models.append(refiner)
    names, weights = p.get("loras"), p.get("loraweights")
    if isinstance(names, list):
        weights = weights if isinstance(weights, list) else []
        for index, name in enumerate(names):
            clean = to_name(name)
            if clean:
                weight = to_float(weights[index]) if index < len(weights) else None
                gen.loras.append(LoRA(name=clean, weight=weight))
    for model in data.get("sui_models") or []:
        if isinstance(model, dict) and model.get("param") == "model":
            gen.model_hash = to_hash(str(model.get("hash", "")).removeprefix("0x"))
    if isinstance(p.get("swarm_version"), str):
        gen.texts.append(p["swarm_version"])
    return finish(gen)
