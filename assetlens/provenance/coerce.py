"""Lenient conversions from untrusted metadata values to the normalised field types."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from assetlens.domain import Generation

RAW_CAP_BYTES = 64 * 1024
TEXT_CAP_CHARS = 32 * 1024
NAME_CAP_CHARS = 512
MAX_TEXTS = 256
MAX_JSON_CHARS = 8 * 1024 * 1024
# Seeds and sizes land in 64-bit index fields; ComfyUI seeds reach 2**64-1.
_INT64_MAX = 2**63 - 1
_WEIGHT_EXT = re.compile(r"\.(safetensors|ckpt|pt|pth|bin|gguf|sft)$", re.IGNORECASE)
_HEX = re.compile(r"^[0-9a-fA-F]{8,64}$")


def to_int(value: Any, lo: int = -_INT64_MAX - 1, hi: int = _INT64_MAX) -> int | None:
    """An int within [lo, hi] from an int, integral float or numeric string; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[+-]?\d{1,20}(\.0*)?", text):
            return None
        value = int(text.split(".")[0])
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, int) and lo <= value <= hi:
        return value
    return None


def to_count(value: Any) -> int | None:
    """A non-negative int of a sensible size (steps, width, height)."""
    return to_int(value, 0, 2**31 - 1)


def to_float(value: Any) -> float | None:
    """A finite float from a number or numeric string; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 40:
            return None
        try:
            value = float(text)
        except ValueError:
            return None
    if isinstance(value, int):
        value = float(value)
    if isinstance(value, float) and math.isfinite(value) and abs(value) < 1e12:
        return value
    return None


def to_text(value: Any, cap: int = TEXT_CAP_CHARS) -> str | None:
    """A stripped, non-empty, length-capped string, or None for anything else."""
    if not isinstance(value, str):
        return None
    text = value.replace("\x00", "").strip()
    return text[:cap] if text else None


def to_name(value: Any) -> str | None:
    """A model/LoRA/VAE name without a weight-file extension."""
    text = to_text(value, NAME_CAP_CHARS)
    if text is None:
        return None
    return _WEIGHT_EXT.sub("", text) or None


def to_hash(value: Any) -> str | None:
    """A lowercase hex model hash (8 to 64 digits), or None."""
    text = to_text(value, 80)
    if text is None or not _HEX.match(text):
        return None
    return text.lower()


def cap_raw(text: str | None) -> str | None:
    """The original metadata text, cut to 64 KiB of UTF-8."""
    if not text:
        return None
    data = text.encode("utf-8", "replace")
    if len(data) <= RAW_CAP_BYTES:
        return text
    return data[:RAW_CAP_BYTES].decode("utf-8", "ignore")


def load_json(text: Any) -> Any:
    """Parsed JSON, or None when the input is absent, not text, oversized or not JSON."""
    if not isinstance(text, str | bytes) or len(text) > MAX_JSON_CHARS:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        return json.loads(stripped)
    except (ValueError, RecursionError):
        return None


def unique_texts(values: list[str], exclude: tuple[str | None, ...] = ()) -> list[str]:
    """Distinct non-empty strings in first-seen order, minus `exclude`, capped in count."""
    seen: dict[str, None] = {}
    skip = {e for e in exclude if e}
    for value in values:
        text = to_text(value)
        if text and text not in skip:
            seen.setdefault(text, None)
        if len(seen) >= MAX_TEXTS:
            break
    return list(seen)


def finish(gen: Generation) -> Generation:
    """Mark a detected generation as AI-made, tidy its searchable texts and put its primary
    model first among its models."""
    gen.ai_generated = True
    gen.texts = unique_texts(gen.texts, (gen.prompt, gen.negative_prompt))
    return gen.align_models()
