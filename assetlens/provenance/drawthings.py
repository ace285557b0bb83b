"""Draw Things: XMP exif:UserComment JSON {c, uc, seed, scale, steps, sampler, model, size}."""

from __future__ import annotations

import re
from typing import Any

from assetlens.domain import Generation, LoRA
from assetlens.provenance.coerce import (
    cap_raw,
    finish,
    load_json,
    to_count,
    to_float,
    to_int,
    to_name,
    to_text,
)

_SIZE = re.compile(r"^\s*(\d{1,6})\s*x\s*(\d{1,6})\s*$")


def is_drawthings(obj: Any) -> bool:
    """True for Draw Things' JSON (prompt under `c`, sampling keys beside it)."""
    return (
        isinstance(obj, dict)
        and "c" in obj
        and len({"uc", "scale", "steps", "seed"} & obj.keys()) >= 2
    )


def parse_drawthings(text: str) -> Generation | None:
    """Normalised fields from Draw Things' UserComment JSON."""
    data = load_json(text)
    if not is_drawthings(data):
        return None
    gen = Generation(
        generator="drawthings",
        prompt=to_text(data.get("c")),
        negative_prompt=to_text(data.get("uc")),
        seed=to_int(data.get("seed")),
        cfg_scale=to_float(data.get("scale")),
        steps=to_count(data.get("steps")),
        sampler=to_text(data.get("sampler"), 128),
        model=to_name(data.get("model")),
        denoise=to_float(data.get("strength")),
        raw=cap_raw(text),
    )
    match = _SIZE.match(str(data.get("size", "")))
    if match:
        gen.width, gen.height = to_count(match.group(1)), to_count(match.group(2))
    for item in data.get("lora") or []:
        if isinstance(item, dict):
            name = to_name(item.get("file", item.get("model")))
            if name:
                gen.loras.append(LoRA(name=name, weight=to_float(item.get("weight"))))
    return finish(gen)
