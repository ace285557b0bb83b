"""InvokeAI metadata: v3+ `invokeai_metadata`, v2 `sd-metadata`, v1 `Dream`."""

from __future__ import annotations

import re
import shlex
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

_BRACKETED = re.compile(r"\[([^\[\]]*)\]")
_DREAM_FLAGS = {
    "-s": "steps",
    "-S": "seed",
    "-W": "width",
    "-H": "height",
    "-C": "cfg",
    "-A": "sampler",
    "-m": "model",
    "-f": "strength",
}


def is_invokeai_v3(obj: Any) -> bool:
    """True for an `invokeai_metadata`-shaped object."""
    return isinstance(obj, dict) and (
        "positive_prompt" in obj or ("generation_mode" in obj and "model" in obj)
    )


def parse_invokeai_v3(text: str) -> Generation | None:
    """InvokeAI 3+ (`invokeai_metadata` JSON; early 3.x used model_name/base_model)."""
    data = load_json(text)
    if not isinstance(data, dict):
        return None
    model = data.get("model")
    gen = Generation(
        generator="invokeai",
        prompt=to_text(data.get("positive_prompt")),
        negative_prompt=to_text(data.get("negative_prompt")),
        width=to_count(data.get("width")),
        height=to_count(data.get("height")),
        seed=to_int(data.get("seed")),
        cfg_scale=to_float(data.get("cfg_scale")),
        steps=to_count(data.get("steps")),
        scheduler=to_text(data.get("scheduler"), 128),
        denoise=to_float(data.get("strength", data.get("denoising_strength"))),
        raw=cap_raw(text),
    )
    if isinstance(model, dict):
        gen.model = to_name(model.get("name", model.get("model_name")))
        gen.model_hash = to_hash(str(model.get("hash", "")).split(":")[-1])
    else:
        gen.model = to_name(model)
    refiner = data.get("refiner_model")  # SDXL refiner: {"name": …} like `model`
    refiner_name = to_name(
        refiner.get("name", refiner.get("model_name")) if isinstance(refiner, dict) else refiner
    )
    if refiner_name:
        gen.models.append(refiner_name)
    vae = data.get("vae")
    gen.vae = to_name(vae.get("name", vae.get("model_name")) if isinstance(vae, dict) else vae)
    for item in data.get("loras") or []:
        if not isinstance(item, dict):
            continue
        ref = item.get("model", item.get("lora"))
        name = to_name(ref.get("name", ref.get("model_name")) if isinstance(ref, dict) else ref)
        if name:
            gen.loras.append(LoRA(name=name, weight=to_float(item.get("weight"))))
    for key in ("positive_style_prompt", "negative_style_prompt", "app_version", "generation_mode"):
        if isinstance(data.get(key), str):
            gen.texts.append(data[key])
    return finish(gen)


def split_bracketed(prompt: str) -> tuple[str | None, str | None]:
    """`positive [negative]` → (positive, negative), InvokeAI's pre-3 negative syntax."""
    negative = " ".join(m.strip() for m in _BRACKETED.findall(prompt) if m.strip())
    positive = re.sub(r"\s+", " ", _BRACKETED.sub(" ", prompt)).strip()
    return to_text(positive), to_text(negative)


def parse_invokeai_v2(text: str) -> Generation | None:
    """InvokeAI 2.x `sd-metadata` JSON."""
    data = load_json(text)
    if not isinstance(data, dict) or not isinstance(data.get("image"), dict):
        return None
    image = data["image"]
    prompt = image.get("prompt")
    if isinstance(prompt, list):
        prompt = " ".join(
            p["prompt"] for p in prompt if isinstance(p, dict) and isinstance(p.get("prompt"), str)
        )
    positive, negative = split_bracketed(prompt) if isinstance(prompt, str) else (None, None)
    gen = Generation(
        generator="invokeai",
        prompt=positive,
        negative_prompt=negative,
        model=to_name(data.get("model_weights")),
        model_hash=to_hash(data.get("model_hash")),
        seed=to_int(image.get("seed")),
        sampler=to_text(image.get("sampler"), 128),
        cfg_scale=to_float(image.get("cfg_scale")),
        steps=to_count(image.get("steps")),
        width=to_count(image.get("width")),
        height=to_count(image.get("height")),
        denoise=to_float(image.get("strength")),
        raw=cap_raw(text),
    )
    return finish(gen)


def parse_dream(text: str) -> Generation | None:
    """InvokeAI 1.x `Dream` command line: `"prompt" -s 30 -S 42 -W 512 -H 512 -C 7.5 -A k_lms`."""
    try:
        tokens = shlex.split(text[:65536])
    except ValueError:
        return None
    if not tokens:
        return None
    values: dict[str, str] = {}
    words: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token in _DREAM_FLAGS and i + 1 < len(tokens):
            values[_DREAM_FLAGS[token]] = tokens[i + 1]
            i += 2
            continue
        if not token.startswith("-"):
            words.append(token)
        i += 1
    positive, negative = split_bracketed(" ".join(words))
    gen = Generation(
        generator="invokeai",
        prompt=positive,
        negative_prompt=negative,
        steps=to_count(values.get("steps")),
        seed=to_int(values.get("seed")),
        width=to_count(values.get("width")),
        height=to_count(values.get("height")),
        cfg_scale=to_float(values.get("cfg")),
        sampler=to_text(values.get("sampler"), 128),
        model=to_name(values.get("model")),
        denoise=to_float(values.get("strength")),
        raw=cap_raw(text),
    )
    return finish(gen)
