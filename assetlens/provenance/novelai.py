"""NovelAI: text chunks (Software, Description, Source, Comment JSON), also in stealth alpha."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from assetlens.domain import Generation
from assetlens.provenance.coerce import (
    cap_raw,
    finish,
    load_json,
    to_count,
    to_float,
    to_hash,
    to_int,
    to_text,
)

_SOURCE_HASH = re.compile(r"\b([0-9A-Fa-f]{8})\s*$")
_COMMENT_KEYS = {"uc", "scale", "sampler", "steps", "seed", "noise_schedule", "v4_prompt"}


def is_novelai(texts: Mapping[str, str]) -> bool:
    """True when text chunks carry NovelAI's Software tag or its Comment JSON."""
    if "novelai" in str(texts.get("Software", "")).lower():
        return True
    return is_novelai_comment(load_json(texts.get("Comment")))


def is_novelai_comment(obj: Any) -> bool:
    """True for NovelAI's Comment JSON (prompt plus uc/scale/steps/…)."""
    return (
        isinstance(obj, dict)
        and ("prompt" in obj or "v4_prompt" in obj)
        and len(_COMMENT_KEYS & obj.keys()) >= 2
    )


def parse_novelai(texts: Mapping[str, Any]) -> Generation:
    """NovelAI text chunks (or the same object read from stealth alpha)."""
    comment = texts.get("Comment")
    data = comment if isinstance(comment, dict) else load_json(comment)
    if not isinstance(data, dict):
        data = {}
    source = to_text(texts.get("Source"), 256)
    gen = Generation(
        generator="novelai",
        prompt=to_text(data.get("prompt")) or to_text(texts.get("Description")),
        negative_prompt=to_text(data.get("uc")),
        model=source,
        steps=to_count(data.get("steps")),
        cfg_scale=to_float(data.get("scale")),
        seed=to_int(data.get("seed")),
        sampler=to_text(data.get("sampler"), 128),
        scheduler=to_text(data.get("noise_schedule"), 128),
        width=to_count(data.get("width")),
        height=to_count(data.get("height")),
        denoise=to_float(data.get("strength")),
        raw=cap_raw(comment if isinstance(comment, str) else _describe(texts)),
    )
    match = _SOURCE_HASH.search(source or "")
    if match:
        gen.model_hash = to_hash(match.group(1))
    gen.texts = _v4_captions(data)
    if gen.prompt is None and gen.texts:
        gen.prompt = gen.texts[0]
    return finish(gen)


def parse_novelai_comment(data: dict[str, Any]) -> Generation:
    """A bare Comment object (e.g. a sidecar)."""
    return parse_novelai({"Comment": data})


def _v4_captions(data: dict[str, Any]) -> list[str]:
    texts: list[str] = []
    for key in ("v4_prompt", "v4_negative_prompt"):
        block = data.get(key)
        caption = block.get("caption") if isinstance(block, dict) else None
        if not isinstance(caption, dict):
            continue
        if isinstance(caption.get("base_caption"), str):
            texts.append(caption["base_caption"])
        for char in caption.get("char_captions") or []:
            if isinstance(char, dict) and isinstance(char.get("char_caption"), str):
                texts.append(char["char_caption"])
    return texts


def _describe(texts: Mapping[str, Any]) -> str:
    return "\n".join(f"{k}: {v}" for k, v in texts.items() if isinstance(v, str))
