"""Which runtime runs the CLIP model on this machine.

`assetlens models prepare` measures torch and ONNX Runtime (fp32) on the same probe batch,
checks that ONNX's vectors agree with torch's (worst cosine ≥ 0.999), and records the
faster of the agreeing ones for this CPU beside the export. `clip_runtime = "auto"` (the
default) then uses the recorded choice; without one it uses torch, so a first start never
pays for an export. An explicit runtime is used as asked, or the model is unavailable with
the reason — never silently another one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from assetlens.config import Settings
from embeddings import onnx_runtime
from embeddings.runtimes import (
    SAME_VECTORS_MIN_COSINE,
    Runtime,
    RuntimeName,
    TorchRuntime,
    normalized_rows,
)

if TYPE_CHECKING:
    import torch

    from embeddings.clip_loader import LoadedModel

log = logging.getLogger(__name__)

PROBE_TEXTS = [
    "a red fox in the snow",
    "neon city at night, cinematic lighting",
    "logo of a mountain",
    "watercolor portrait of an old man",
]


@dataclass(frozen=True, slots=True)
class Measurement:
    runtime: RuntimeName
    images_per_s: float
    worst_cosine: float  # against torch, over the probe images and texts


def resolve(settings: Settings, loaded: LoadedModel, model_id: str) -> Runtime:
    """The runtime settings ask for (auto: the recorded choice for this CPU, else torch)."""
    asked = RuntimeName(settings.clip_runtime)
    if asked is RuntimeName.TORCH:
        return TorchRuntime(loaded)
    if asked is not RuntimeName.AUTO:
        return onnx_runtime.build(asked, loaded, settings, model_id)
    recorded = recorded_choice(settings, model_id)
    if recorded is None or recorded is RuntimeName.TORCH:
        return TorchRuntime(loaded)
    try:
        return onnx_runtime.build(recorded, loaded, settings, model_id)
    except Exception as exc:  # any failure of the faster runtime: torch gives the same vectors
        log.warning(
            "CLIP runtime %s unavailable (%s: %s); using torch",
            recorded.value,
            type(exc).__name__,
            exc,
        )
        return TorchRuntime(loaded)


def prepare(
    settings: Settings,
    loaded: LoadedModel,
    model_id: str,
    *,
    n_images: int = 32,
    repeats: int = 2,
    runtimes: tuple[RuntimeName, ...] = (
        RuntimeName.TORCH,
        RuntimeName.ONNX,
        RuntimeName.ONNX_INT8,
    ),
) -> tuple[list[Measurement], RuntimeName]:
    """Measure `runtimes` on this machine and record the fastest of those whose vectors
    agree with torch's; returns the measurements and the choice."""
    pixels, tokens = probe_inputs(loaded, n_images)
    reference = TorchRuntime(loaded)
    expected = (reference.encode_images(pixels), reference.encode_texts(tokens))
    measured = []
    for name in runtimes:
        runtime = (
            reference
            if name is RuntimeName.TORCH
            else onnx_runtime.build(name, loaded, settings, model_id)
        )
        cosine = min(
            worst_cosine(runtime.encode_images(pixels), expected[0]),
            worst_cosine(runtime.encode_texts(tokens), expected[1]),
        )
        measured.append(Measurement(name, _images_per_s(runtime, pixels, repeats), cosine))
    agreeing = [
        m
        for m in measured
        if m.runtime in (RuntimeName.TORCH, RuntimeName.ONNX)
        and m.worst_cosine >= SAME_VECTORS_MIN_COSINE
    ]
    choice = max(agreeing, key=lambda m: m.images_per_s).runtime
    path = _choice_path(settings, model_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "runtime": choice.value,
                "machine": machine_key(),
                "measurements": [asdict(m) for m in measured],
            },
            indent=2,
        )
    )
    return measured, choice


def recorded_choice(settings: Settings, model_id: str) -> RuntimeName | None:
    """The runtime `prepare` chose for this CPU and model, if it ran here."""
    try:
        path = _choice_path(settings, model_id)
        recorded = json.loads(path.read_text(encoding="utf-8"))
        return RuntimeName(recorded["runtime"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def probe_inputs(loaded: LoadedModel, n_images: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded images (noise and gradients, so features spread out) and fixed texts."""
    import torch

    rng = np.random.default_rng(0)
    images = []
    for index in range(n_images):
        if index % 2:
            pixels = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
        else:
            ramp = np.linspace(0, 255, 256, dtype=np.float32)
            channel = rng.permutation(3)
            pixels = np.stack(
                [np.add.outer(ramp, ramp * c / 3) % 256 for c in channel], axis=-1
            ).astype(np.uint8)
        images.append(loaded.preprocess(Image.fromarray(pixels, "RGB")))
    return torch.stack(images), loaded.tokenizer(PROBE_TEXTS)


def worst_cosine(a: np.ndarray, b: np.ndarray) -> float:
    rows = np.asarray(normalized_rows(a)) * np.asarray(normalized_rows(b))
    return float(rows.sum(axis=1).min())


def machine_key() -> str:
    """This CPU: its model and instruction-set flags (a choice is only valid where it was
    measured)."""
    described = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith(("model name", "flags")):
                described += line
                if line.startswith("flags"):
                    break
    except OSError:
        described += platform.processor()
    return hashlib.sha256(described.encode()).hexdigest()[:16]


def _choice_path(settings: Settings, model_id: str) -> Path:
    return onnx_runtime.export_dir(settings, model_id) / f"choice-{machine_key()}.json"


def _images_per_s(runtime: Runtime, pixels: torch.Tensor, repeats: int) -> float:
    runtime.encode_images(pixels[:2])  # warm-up (allocations, thread pools)
    best = float("inf")
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        runtime.encode_images(pixels)
        best = min(best, time.perf_counter() - start)
    return len(pixels) / best
