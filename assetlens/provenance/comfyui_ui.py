"""ComfyUI UI graph (`workflow`: nodes, links, widgets_values) → API-graph shape.

Widget values are positional, so each known node type maps positions to input names;
unknown types keep their literal widgets as `widget_N` inputs (still searchable text).
Muted nodes (mode 2) never ran and are dropped; bypassed nodes (mode 4) pass their
matching-type input through, as ComfyUI does when executing.
"""

from __future__ import annotations

from typing import Any

MUTED, BYPASSED = 2, 4
_MAX_NODES = 5000
_SEED = ("seed", "control_after_generate")
WIDGETS: dict[str, tuple[str, ...]] = {
    "CLIPTextEncode": ("text",),
    "CLIPTextEncodeSDXL": (
        "width",
        "height",
        "crop_w",
        "crop_h",
        "target_width",
        "target_height",
        "text_g",
        "text_l",
    ),
    "CLIPTextEncodeFlux": ("clip_l", "t5xxl", "guidance"),
    "KSampler": (*_SEED, "steps", "cfg", "sampler_name", "scheduler", "denoise"),
    "KSamplerAdvanced": (
        "add_noise",
        "noise_seed",
        "control_after_generate",
        "steps",
        "cfg",
        "sampler_name",
        "scheduler",
        "start_at_step",
        "end_at_step",
        "return_with_leftover_noise",
    ),
    "SamplerCustom": ("add_noise", "noise_seed", "control_after_generate", "cfg"),
    "RandomNoise": ("noise_seed", "control_after_generate"),
    "KSamplerSelect": ("sampler_name",),
    "BasicScheduler": ("scheduler", "steps", "denoise"),
    "CFGGuider": ("cfg",),
    "FluxGuidance": ("guidance",),
    "CheckpointLoaderSimple": ("ckpt_name",),
    "UNETLoader": ("unet_name", "weight_dtype"),
    "VAELoader": ("vae_name",),
    "LoraLoader": ("lora_name", "strength_model", "strength_clip"),
    "LoraLoaderModelOnly": ("lora_name", "strength_model"),
    "EmptyLatentImage": ("width", "height", "batch_size"),
    "EmptySD3LatentImage": ("width", "height", "batch_size"),
    "ControlNetLoader": ("control_net_name",),
    "ControlNetApply": ("strength",),
    "ControlNetApplyAdvanced": ("strength", "start_percent", "end_percent"),
    "PrimitiveNode": ("value",),
}


def ui_to_api(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The executable part of a UI workflow in API-graph form."""
    nodes = {
        str(n["id"]): n
        for n in workflow.get("nodes", [])[:_MAX_NODES]
        if isinstance(n, dict) and isinstance(n.get("id"), int | str)
    }
    links: dict[int, tuple[str, int, str]] = {}
    for link in workflow.get("links") or []:
        if isinstance(link, list) and len(link) >= 5 and isinstance(link[0], int):
            links[link[0]] = (
                str(link[1]),
                link[2] if isinstance(link[2], int) else 0,
                str(link[5]) if len(link) > 5 else "",
            )
    graph: dict[str, dict[str, Any]] = {}
    for key, node in nodes.items():
        if node.get("mode") in (MUTED, BYPASSED):
            continue
        kind = str(node.get("type", ""))
        inputs: dict[str, Any] = _widget_inputs(kind, node.get("widgets_values"))
        for slot in node.get("inputs") or []:
            if not isinstance(slot, dict) or not isinstance(slot.get("name"), str):
                continue
            source = _resolve(nodes, links, slot.get("link"), 0)
            if source is not None and not (
                isinstance(slot.get("widget"), dict) and slot["name"] in inputs
            ):
                inputs[slot["name"]] = [source[0], source[1]]
        graph[key] = {"class_type": kind, "inputs": inputs}
    return graph


def _widget_inputs(kind: str, values: Any) -> dict[str, Any]:
    if isinstance(values, dict):
        return {str(k): v for k, v in values.items() if isinstance(v, str | int | float)}
    if not isinstance(values, list):
        return {}
    names = WIDGETS.get(kind, ())
    inputs: dict[str, Any] = {}
    for index, value in enumerate(values):
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            continue
        inputs[names[index] if index < len(names) else f"widget_{index}"] = value
    return inputs


def _resolve(
    nodes: dict[str, dict[str, Any]],
    links: dict[int, tuple[str, int, str]],
    link_id: Any,
    depth: int,
) -> tuple[str, int] | None:
    """The (node, output) feeding a link, passing through bypassed nodes; None when the
    source is muted or missing."""
    if not isinstance(link_id, int) or link_id not in links or depth > 64:
        return None
    source, output, kind = links[link_id]
    node = nodes.get(source)
    if node is None or node.get("mode") == MUTED:
        return None
    if node.get("mode") == BYPASSED:
        for slot in node.get("inputs") or []:
            if isinstance(slot, dict) and slot.get("type") == kind:
                return _resolve(nodes, links, slot.get("link"), depth + 1)
        return None
    return source, output
