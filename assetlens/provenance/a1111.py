"""AUTOMATIC1111 / Forge / SD.Next `parameters` text (also Fooocus' a1111 scheme)."""

from __future__ import annotations

import json
import re

from assetlens.domain import Generation, LoRA
from assetlens.provenance.coerce import (
    cap_raw,
    finish,
    to_count,
    to_float,
    to_hash,
    to_int,
    to_name,
    to_text,
)

_NEGATIVE = "Negative prompt:"
_KEY = re.compile(r"^\s*(\w[\w \-/.()+]{0,60}):\s*(.*)$", re.DOTALL)
_LORA = re.compile(r"<(?:lora|lyco):([^:<>]{1,256}):([^:<>]{1,32})(?::[^<>]{0,64})?>")
_SIZE = re.compile(r"^\s*(\d{1,6})\s*x\s*(\d{1,6})\s*$")
_REFINER = re.compile(r"^(.*?)\s*\[[0-9a-fA-F]+\]\s*$")
_FORGE_VERSION = re.compile(r"^f\d")
MIN_PAIRS = 3
_CORE_KEYS = {"Steps", "Sampler", "Seed", "CFG scale", "Size", "Model"}


def split_pairs(line: str) -> list[tuple[str, str]]:
    """`Key: value` pairs of one parameter line, splitting on commas outside JSON strings and
    outside brackets (Civitai appends unquoted JSON objects and arrays)."""
    pieces: list[str] = []
    start, depth, quoted, escaped = 0, 0, False, False
    for i, ch in enumerate(line):
        if quoted:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            pieces.append(line[start:i])
            start = i + 1
    pieces.append(line[start:])
    pairs: list[tuple[str, str]] = []
    for piece in pieces:
        match = _KEY.match(piece)
        if match:
            pairs.append((match.group(1).strip(), _unquote(match.group(2).strip())))
    return pairs


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        try:
            decoded = json.loads(value)
        except ValueError:
            return value[1:-1]
        if isinstance(decoded, str):
            return decoded
    return value


def looks_like_a1111(text: str) -> bool:
    """True when the last line of `text` holds at least three `Key: value` pairs."""
    pairs = split_pairs(text.strip().rsplit("\n", 1)[-1])
    return len(pairs) >= MIN_PAIRS and any(k in _CORE_KEYS for k, _ in pairs)


def parse_a1111(text: str) -> Generation:
    """Parse A1111-layout text: prompt lines, optional `Negative prompt:` lines, and a final
    line of at least three `Key: value` pairs (otherwise every line is prompt)."""
    lines = text.strip().replace("\r\n", "\n").split("\n")
    params: list[tuple[str, str]] = []
    if len(lines) > 0:
        candidate = split_pairs(lines[-1])
        if len(candidate) >= MIN_PAIRS:
            params = candidate
            lines = lines[:-1]
    prompt_lines: list[str] = []
    negative_lines: list[str] = []
    in_negative = False
    for line in lines:
        if not in_negative and line.strip().startswith(_NEGATIVE):
            in_negative = True
            line = line.strip()[len(_NEGATIVE) :]
        (negative_lines if in_negative else prompt_lines).append(line)
    gen = Generation(
        generator="a1111",
        prompt=to_text("\n".join(prompt_lines)),
        negative_prompt=to_text("\n".join(negative_lines)) if in_negative else None,
        raw=cap_raw(text),
    )
    if gen.prompt:
        gen.loras = loras_in_prompt(gen.prompt)
    _apply_params(gen, dict(reversed(params)) if params else {})
    return finish(gen)


def loras_in_prompt(prompt: str) -> list[LoRA]:
    """LoRAs named in a prompt as `<lora:name:weight>` (or `<lyco:…>`)."""
    found: list[LoRA] = []
    for name, weight in _LORA.findall(prompt[:65536]):
        clean = to_name(name)
        if clean:
            found.append(LoRA(name=clean, weight=to_float(weight)))
    return found


def _apply_params(gen: Generation, p: dict[str, str]) -> None:
    gen.steps = to_count(p.get("Steps"))
    gen.sampler = to_text(p.get("Sampler"), 128)
    gen.scheduler = to_text(p.get("Schedule type"), 128)
    gen.cfg_scale = to_float(p.get("CFG scale"))
    if gen.cfg_scale is None:
        gen.cfg_scale = to_float(p.get("Distilled CFG Scale"))
    gen.seed = to_int(p.get("Seed"))
    size = _SIZE.match(p.get("Size", ""))
    if size:
        gen.width, gen.height = to_count(size.group(1)), to_count(size.group(2))
    gen.model = to_name(p.get("Model"))
    gen.model_hash = to_hash(p.get("Model hash"))
    gen.vae = to_name(p.get("VAE"))
    gen.denoise = to_float(p.get("Denoising strength"))
    version = p.get("Version", "")
    if version.lower().startswith("fooocus"):
        gen.generator = "fooocus"
    elif _FORGE_VERSION.match(version) or version.lower().startswith("neo"):
        gen.generator = "forge"
    elif "sd.next" in p.get("App", "").lower():
        gen.generator = "sdnext"
    # A refiner switched to during sampling, then a hires pass with another checkpoint:
    # both written as `name [hash]`.
    for key in ("Refiner", "Hires checkpoint"):
        value = p.get(key)
        if value:
            match = _REFINER.match(value)
            name = to_name(match.group(1) if match else value)
            if name:
                gen.models.append(name)
                gen.texts.append(name)
    gen.texts.extend(v for k, v in p.items() if "prompt" in k.lower())
