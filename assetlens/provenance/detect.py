"""Decide the generator by content and dispatch to its parser.

Every parser call is guarded: bad content in one place is logged at debug level and the
next candidate is tried, so a file with garbage in every key yields None, not an error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from assetlens.domain import Generation
from assetlens.provenance.a1111 import looks_like_a1111, parse_a1111
from assetlens.provenance.coerce import cap_raw, load_json, to_text
from assetlens.provenance.comfyui import is_api_graph, is_ui_graph, parse_api_graph, parse_comfyui
from assetlens.provenance.comfyui_ui import ui_to_api
from assetlens.provenance.containers import Carrier, stealth_text
from assetlens.provenance.drawthings import is_drawthings, parse_drawthings
from assetlens.provenance.easydiffusion import is_easydiffusion, parse_easydiffusion
from assetlens.provenance.fooocus import is_fooocus_json, parse_fooocus
from assetlens.provenance.invokeai import (
    is_invokeai_v3,
    parse_dream,
    parse_invokeai_v2,
    parse_invokeai_v3,
)
from assetlens.provenance.midjourney import is_midjourney, parse_midjourney
from assetlens.provenance.novelai import is_novelai, is_novelai_comment, parse_novelai
from assetlens.provenance.swarmui import is_swarmui, parse_swarmui

log = logging.getLogger(__name__)
T = TypeVar("T")
AI_SOURCE_SUFFIXES = ("/trainedAlgorithmicMedia", "/compositeWithTrainedAlgorithmicMedia")


def guarded(parser: Callable[..., T | None], *args: Any) -> T | None:
    """Run one parser; any failure is logged at debug level and reads as "not found"."""
    try:
        return parser(*args)
    except Exception as exc:  # untrusted content: no parser failure may escape
        log.debug("provenance parser %s failed: %r", getattr(parser, "__name__", parser), exc)
        return None


def from_texts(texts: Mapping[str, str]) -> Generation | None:
    """Keyed texts (PNG chunks, video/audio tags) → the generator whose keys they carry."""
    keyed: list[tuple[str, Callable[[str], Generation | None]]] = [
        ("invokeai_metadata", parse_invokeai_v3),
        ("sd-metadata", parse_invokeai_v2),
        ("Dream", parse_dream),
    ]
    for key, parser in keyed:
        if key in texts:
            found = guarded(parser, texts[key])
            if found is not None:
                return found
    if guarded(is_novelai, texts):
        found = guarded(parse_novelai, texts)
        if found is not None:
            return found
    if "parameters" in texts:
        if "fooocus_scheme" in texts:
            found = guarded(parse_fooocus, texts["parameters"], texts["fooocus_scheme"])
        else:
            found = guarded(from_text, texts["parameters"])
        if found is not None:
            return found
    for prompt_key, workflow_key in (("prompt", "workflow"), ("Prompt", "Workflow")):
        if prompt_key in texts or workflow_key in texts:
            found = guarded(parse_comfyui, texts.get(prompt_key), texts.get(workflow_key))
            if found is not None:
                return found
    if is_easydiffusion(texts):
        found = guarded(parse_easydiffusion, texts)
        if found is not None:
            return found
    for key in ("Description", "description", "Comment", "comment", "UserComment"):
        if key in texts:
            found = guarded(from_text, texts[key])
            if found is not None:
                return found
    return None


def from_text(text: str) -> Generation | None:
    """One free string (UserComment, comment, sidecar, stealth payload) → by its content."""
    if not isinstance(text, str) or not text.strip():
        return None
    data = load_json(text)
    if data is not None:
        return from_json(data, text)
    if looks_like_a1111(text):
        return parse_a1111(text)
    if is_midjourney(text):
        return parse_midjourney(text)
    return None


def from_json(data: Any, raw: str | None = None) -> Generation | None:
    """A parsed JSON document in any known layout."""
    raw = raw if raw is not None else _dump(data)
    if not isinstance(data, dict):
        return None
    checks: list[tuple[Callable[[Any], bool], Callable[[], Generation | None]]] = [
        (is_swarmui, lambda: parse_swarmui(raw)),
        (is_fooocus_json, lambda: parse_fooocus(raw)),
        (is_api_graph, lambda: parse_api_graph(data, raw)),
        (is_ui_graph, lambda: parse_api_graph(ui_to_api(data), raw)),
        (
            _is_comfy_pair,
            lambda: parse_comfyui(_as_json(data.get("prompt")), _as_json(data.get("workflow"))),
        ),
        (is_invokeai_v3, lambda: parse_invokeai_v3(raw)),
        (_is_invokeai_v2, lambda: parse_invokeai_v2(raw)),
        (is_drawthings, lambda: parse_drawthings(raw)),
        (is_novelai_comment, lambda: parse_novelai({"Comment": raw})),
        (_is_text_chunks, lambda: from_texts({k: _as_text(v) for k, v in data.items()})),
        (is_easydiffusion, lambda: parse_easydiffusion(data)),
    ]
    for check, parse in checks:
        if guarded(check, data):
            found = guarded(parse)
            if found is not None:
                return found
    return None


def _is_comfy_pair(data: dict[str, Any]) -> bool:
    prompt, workflow = _as_obj(data.get("prompt")), _as_obj(data.get("workflow"))
    return is_api_graph(prompt) or is_ui_graph(workflow)


def _is_invokeai_v2(data: dict[str, Any]) -> bool:
    return isinstance(data.get("image"), dict) and (
        "model_weights" in data or "prompt" in data["image"]
    )


def _is_text_chunks(data: dict[str, Any]) -> bool:
    """A dict of PNG-chunk-like keys (NovelAI stealth payload, A1111 in JSON)."""
    return bool({"Comment", "Software", "parameters", "Description"} & data.keys())


def _as_obj(value: Any) -> Any:
    return load_json(value) if isinstance(value, str) else value


def _as_json(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    return _dump(value) if isinstance(value, dict | list) else None


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else _dump(value)


def _dump(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return ""


def interpret(carrier: Carrier, audio: bool = False) -> Generation | None:
    """The generation a file's metadata describes, by content; XMP's IPTC digital source
    type marks AI media even when no generator is recognised."""
    found = guarded(from_texts, carrier.texts)
    if found is None and carrier.user_comment:
        found = guarded(from_text, carrier.user_comment)
        if found is not None and "fooocus" in (carrier.software or "").lower():
            found.generator = "fooocus"
    for candidate in (
        carrier.xmp.get("UserComment"),
        carrier.description,
        *carrier.comments,
        carrier.xmp.get("description"),
    ):
        if found is not None:
            break
        if candidate:
            found = guarded(from_text, candidate)
    if found is None:
        hidden = guarded(stealth_text, carrier)
        found = guarded(from_text, hidden) if hidden else None
    if found is None and audio:
        found = _audio_prompt(carrier)
    source = carrier.xmp.get("DigitalSourceType", "")
    if source.endswith(AI_SOURCE_SUFFIXES):
        found = found or Generation(raw=cap_raw(source))
        found.ai_generated = True
    return found


def _audio_prompt(carrier: Carrier) -> Generation | None:
    """A prompt named as such in audio tags: a hint, not proof that the audio is AI-made."""
    prompt = to_text(carrier.texts.get("prompt"))
    if prompt is None:
        for key in ("comment", "description"):
            text = carrier.texts.get(key, "")
            if text.lower().startswith("prompt:"):
                prompt = to_text(text[len("prompt:") :])
                break
    return Generation(prompt=prompt, raw=cap_raw(prompt)) if prompt else None
