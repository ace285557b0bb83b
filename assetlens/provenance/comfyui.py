"""ComfyUI: API graph (`prompt`) and UI graph (`workflow`) JSON."""

from __future__ import annotations

import json
from typing import Any

from assetlens.domain import Generation, LoRA
from assetlens.provenance.coerce import (
    NAME_CAP_CHARS,
    cap_raw,
    finish,
    to_count,
    to_float,
    to_int,
    to_name,
    to_text,
)
from assetlens.provenance.comfyui_ui import ui_to_api

Graph = dict[str, dict[str, Any]]
_MAX_DEPTH = 64
_SAMPLERS = ("KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced")
# Text encoders and the inputs that hold their prompt, in order of preference.
_ENCODERS: dict[str, tuple[str, ...]] = {
    "CLIPTextEncode": ("text",),
    "CLIPTextEncodeSDXL": ("text_g", "text_l"),
    "CLIPTextEncodeSDXLRefiner": ("text",),
    "CLIPTextEncodeFlux": ("t5xxl", "clip_l"),
    "CLIPTextEncodeSD3": ("t5xxl", "clip_g", "clip_l"),
    "CLIPTextEncodeHunyuanDiT": ("bert", "mt5xl"),
    "TextEncodeHunyuanVideo_ImageToVideo": ("prompt",),
}
_STRING_KEYS = ("text", "string", "value", "prompt", "text_a", "text_b", "string_a", "string_b")


def is_api_graph(obj: Any) -> bool:
    """True for a ComfyUI API graph: {id: {class_type, inputs}}."""
    return (
        isinstance(obj, dict)
        and bool(obj)
        and all(isinstance(v, dict) for v in obj.values())
        and any("class_type" in v and isinstance(v.get("inputs"), dict) for v in obj.values())
    )


def is_ui_graph(obj: Any) -> bool:
    """True for a ComfyUI UI workflow: {nodes: [...], links: [...]}."""
    return isinstance(obj, dict) and isinstance(obj.get("nodes"), list) and "links" in obj


def parse_comfyui(prompt_json: str | None, workflow_json: str | None = None) -> Generation | None:
    """Parse ComfyUI metadata; the API graph wins, the UI graph is used when it is absent."""
    graph = _loads(prompt_json)
    raw = prompt_json
    if not is_api_graph(graph):
        ui = _loads(workflow_json)
        if not is_ui_graph(ui):
            return None
        graph = ui_to_api(ui)
        raw = workflow_json
    return parse_api_graph(graph, raw)


def _loads(text: str | None) -> Any:
    if not text or len(text) > 8 * 1024 * 1024:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def parse_api_graph(graph: Graph, raw: str | None = None) -> Generation:
    """Normalised fields from an API graph: the main sampler, its prompts, model chain and
    latent size; every string input of every node becomes searchable text."""
    graph = {str(k): v for k, v in graph.items() if isinstance(v, dict)}
    gen = Generation(generator="comfyui", raw=cap_raw(raw or _dump(graph)))
    samplers = _samplers(graph)
    if samplers:
        _read_sampler(graph, samplers[0], gen)
    gen.models = _models(graph, samplers)
    if gen.vae is None:
        for node in graph.values():
            if _kind(node) == "VAELoader":
                gen.vae = to_name(_inputs(node).get("vae_name"))
                break
    gen.texts = [t for node in graph.values() for t in _strings(_inputs(node))]
    gen.input_images = _input_images(graph)
    return finish(gen)


def _kind(node: dict[str, Any]) -> str:
    """A node's class_type; "" when a hostile or broken graph gives something else (a list
    there would otherwise break every set lookup)."""
    kind = node.get("class_type")
    return kind if isinstance(kind, str) else ""


_IMAGE_LOADERS = frozenset({"LoadImage", "LoadImageMask"})
MAX_INPUT_IMAGES = 16


def _input_images(graph: Graph) -> list[str]:
    """The file names LoadImage nodes read (img2img, inpainting, ControlNet inputs)."""
    names: list[str] = []
    for node in graph.values():
        if _kind(node) in _IMAGE_LOADERS:
            name = to_text(_inputs(node).get("image"), NAME_CAP_CHARS)
            if name and name not in names:
                names.append(name)
    return names[:MAX_INPUT_IMAGES]


def _dump(graph: Graph) -> str:
    try:
        return json.dumps(graph)[:65536]
    except (TypeError, ValueError):
        return ""


def _inputs(node: Any) -> dict[str, Any]:
    inputs = node.get("inputs") if isinstance(node, dict) else None
    return inputs if isinstance(inputs, dict) else {}


def _strings(inputs: dict[str, Any]) -> list[str]:
    return [v for v in inputs.values() if isinstance(v, str)]


def _link(value: Any) -> tuple[str, int] | None:
    if (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str | int)
        and not isinstance(value[0], bool)
        and isinstance(value[1], int)
    ):
        return str(value[0]), value[1]
    return None


def _node(graph: Graph, value: Any) -> tuple[str, dict[str, Any], int] | None:
    link = _link(value)
    if link is None or link[0] not in graph:
        return None
    return link[0], graph[link[0]], link[1]


def _samplers(graph: Graph) -> list[str]:
    """The graph's sampler nodes, the main one first (the first, by node id, that starts
    from an empty latent), then the others by node id (a refiner, a hires or img2img pass)."""
    samplers = [k for k, v in graph.items() if _kind(v) in _SAMPLERS]
    samplers.sort(key=lambda k: (len(k), k))
    for key in samplers:
        source = _node(graph, _inputs(graph[key]).get("latent_image"))
        if source and _is_empty_latent(source[1]):
            return [key, *(other for other in samplers if other != key)]
    return samplers


def _models(graph: Graph, samplers: list[str]) -> list[str]:
    """The checkpoint or UNet each sampler's model input comes from, in sampler order."""
    names: list[str] = []
    for key in samplers:
        inputs = _inputs(graph[key])
        guider = _follow_inputs(graph, inputs.get("guider"))
        sigmas = _follow_inputs(graph, inputs.get("sigmas"))
        name, _ = _model_chain(graph, inputs.get("model", guider.get("model", sigmas.get("model"))))
        if name and name not in names:
            names.append(name)
    return names


def _is_empty_latent(node: dict[str, Any]) -> bool:
    kind = _kind(node)
    return kind.startswith("Empty") and "Latent" in kind


def _read_sampler(graph: Graph, key: str, gen: Generation) -> None:
    inputs = _inputs(graph[key])
    kind = _kind(graph[key])
    guider = _follow_inputs(graph, inputs.get("guider"))
    sampler_node = _follow_inputs(graph, inputs.get("sampler"))
    sigmas = _follow_inputs(graph, inputs.get("sigmas"))
    noise = _follow_inputs(graph, inputs.get("noise"))
    seed_value = inputs.get("noise_seed" if kind != "KSampler" else "seed", inputs.get("seed"))
    if seed_value is None:
        seed_value = noise.get("noise_seed")
    gen.seed = to_int(_literal(graph, seed_value))
    gen.steps = to_count(_literal(graph, inputs.get("steps", sigmas.get("steps"))))
    gen.cfg_scale = to_float(_literal(graph, inputs.get("cfg", guider.get("cfg"))))
    gen.sampler = to_text(
        _literal(graph, inputs.get("sampler_name", sampler_node.get("sampler_name"))), 128
    )
    gen.scheduler = to_text(_literal(graph, inputs.get("scheduler", sigmas.get("scheduler"))), 128)
    gen.denoise = to_float(_literal(graph, inputs.get("denoise", sigmas.get("denoise"))))
    positive = inputs.get("positive", guider.get("positive", guider.get("conditioning")))
    negative = inputs.get("negative", guider.get("negative"))
    gen.prompt = to_text("\n".join(_texts_of(graph, positive, set(), 0)))
    gen.negative_prompt = to_text("\n".join(_texts_of(graph, negative, set(), 0)))
    model = inputs.get("model", guider.get("model", sigmas.get("model")))
    _read_model(graph, model, gen)
    latent = _node(graph, inputs.get("latent_image"))
    if latent and _is_empty_latent(latent[1]):
        latent_inputs = _inputs(latent[1])
        gen.width = to_count(_literal(graph, latent_inputs.get("width")))
        gen.height = to_count(_literal(graph, latent_inputs.get("height")))


def _follow_inputs(graph: Graph, value: Any) -> dict[str, Any]:
    found = _node(graph, value)
    return _inputs(found[1]) if found else {}


def _literal(graph: Graph, value: Any, depth: int = 0) -> Any:
    """A literal input, following links into primitive/seed nodes."""
    found = _node(graph, value)
    if found is None:
        return value
    if depth >= _MAX_DEPTH:
        return None
    inputs = _inputs(found[1])
    for key in ("value", "seed", "noise_seed", "int", "float", "number", *_STRING_KEYS):
        if key in inputs:
            return _literal(graph, inputs[key], depth + 1)
    scalars = [v for v in inputs.values() if isinstance(v, int | float | str)]
    return scalars[0] if len(scalars) == 1 else None


def _texts_of(graph: Graph, value: Any, seen: set[str], depth: int) -> list[str]:
    """Prompt texts reached from a conditioning input, through combiners and ControlNets."""
    found = _node(graph, value)
    if found is None or depth >= _MAX_DEPTH or found[0] in seen:
        return []
    key, node, output = found
    seen.add(key)
    kind = _kind(node)
    inputs = _inputs(node)
    if kind in _ENCODERS:
        texts: list[str] = []
        for name in _ENCODERS[kind]:
            text = _string_value(graph, inputs.get(name), depth + 1)
            if text and text not in texts:
                texts.append(text)
        return texts[:1] if kind == "CLIPTextEncodeSDXL" else texts
    if "positive" in inputs and "negative" in inputs:
        # ControlNetApplyAdvanced and friends: output 0 is positive, 1 negative.
        return _texts_of(graph, inputs["negative" if output == 1 else "positive"], seen, depth + 1)
    texts = []
    for name, item in inputs.items():
        if name.startswith("conditioning") or name in {"positive", "cond"}:
            texts.extend(_texts_of(graph, item, seen, depth + 1))
    if not texts and "text" in inputs:
        text = _string_value(graph, inputs["text"], depth + 1)
        texts = [text] if text else []
    return texts


def _string_value(graph: Graph, value: Any, depth: int) -> str | None:
    """A string input, or the text a linked string node produces (joined when it concatenates)."""
    if isinstance(value, str):
        return value
    found = _node(graph, value)
    if found is None or depth >= _MAX_DEPTH:
        return None
    inputs = _inputs(found[1])
    parts = [_string_value(graph, inputs[k], depth + 1) for k in _STRING_KEYS if k in inputs]
    if not any(parts):
        parts = [_string_value(graph, v, depth + 1) for v in inputs.values() if _link(v)]
    joined = " ".join(p for p in parts if p)
    return joined or None


def _read_model(graph: Graph, value: Any, gen: Generation) -> None:
    gen.model, gen.loras = _model_chain(graph, value)


def _model_chain(graph: Graph, value: Any) -> tuple[str | None, list[LoRA]]:
    """The checkpoint/UNet a model input comes from, and the LoRAs applied on the way
    (in the order they are applied)."""
    loras: list[LoRA] = []
    seen: set[str] = set()
    found = _node(graph, value)
    while found is not None and found[0] not in seen and len(seen) < _MAX_DEPTH:
        key, node, _ = found
        seen.add(key)
        inputs = _inputs(node)
        kind = _kind(node)
        if "lora_name" in inputs:
            name = to_name(_literal(graph, inputs["lora_name"]))
            if name:
                weight = inputs.get("strength_model", inputs.get("strength"))
                loras.append(LoRA(name=name, weight=to_float(_literal(graph, weight))))
        for field in ("ckpt_name", "unet_name", "model_name", "gguf_name"):
            if field in inputs and "lora" not in kind.lower():
                return to_name(_literal(graph, inputs[field])), list(reversed(loras))
        found = _node(graph, inputs.get("model"))
    return None, list(reversed(loras))
