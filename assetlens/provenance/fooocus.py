"""Fooocus 2.2+: `parameters` JSON when `fooocus_scheme` is `fooocus` (a1111 otherwise)."""

from __future__ import annotations

import re
from typing import Any

from assetlens.domain import Generation, LoRA
from assetlens.provenance.a1111 import parse_a1111
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

_RESOLUTION = re.compile(r"^\s*\(?\s*(\d{1,6})\s*[,x×]\s*(\d{1,6})\s*\)?\s*$")
_MARKERS = {"base_model", "performance", "guidance_scale", "sharpness", "refiner_model", "styles"}


def is_fooocus_json(obj: Any) -> bool:
    """True for Fooocus' JSON scheme (prompt plus Fooocus-specific keys)."""
    return isinstance(obj, dict) and "prompt" in obj and len(_MARKERS & obj.keys()) >= 2


def parse_fooocus(text: str, scheme: str | None = "fooocus") -> Generation | None:
    """Fooocus metadata in either scheme; the content decides when the scheme is wrong."""
    data = load_json(text)
    if not isinstance(data, dict):
        if scheme == "fooocus" and data is not None:
            return None
        gen = parse_a1111(text)
        gen.generator = "fooocus"
        return gen
    gen = Generation(
        generator="fooocus",
        prompt=to_text(data.get("prompt")),
        negative_prompt=to_text(data.get("negative_prompt")),
        steps=to_count(data.get("steps")),
        cfg_scale=to_float(data.get("guidance_scale")),
        sampler=to_text(data.get("sampler"), 128),
        scheduler=to_text(data.get("scheduler"), 128),
        seed=to_int(data.get("seed")),
        model=to_name(data.get("base_model")),
        model_hash=to_hash(data.get("base_model_hash")),
        vae=to_name(data.get("vae")),
        raw=cap_raw(text),
    )
    match = _RESOLUTION.match(str(data.get("resolution", "")))
    if match:
        gen.width, gen.height = to_count(match.group(1)), to_count(match.group(2))
    for item in data.get("loras") or []:
        if isinstance(item, list) and item:
            name = to_name(item[0])
            if name:
                gen.loras.append(
                    LoRA(name=name, weight=to_float(item[1]) if len(item) > 1 else None)
                )
    refiner = to_name(data.get("refiner_model"))
    if refiner and refiner.lower() != "none":  # Fooocus writes "None" without a refiner
        gen.models.append(refiner)
    for key in (
        "styles",
        "refiner_model",
        "performance",
        "version",
        "full_prompt",
        "full_negative_prompt",
    ):
        value = data.get(key)
        if isinstance(value, str):
            gen.texts.append(value)
        elif isinstance(value, list):
            gen.texts.extend(v for v in value if isinstance(v, str))
    return finish(gen)
