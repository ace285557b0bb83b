"""How a loaded CLIP model runs its forward passes.

`torch` runs open_clip's modules as they are. `onnx` runs an ONNX export of the two towers
in ONNX Runtime (fp32: the same vectors to within float rounding, so it shares the model's
id). `onnx-int8` quantises the towers' weights to int8 (dynamic quantisation): faster on
CPUs without AVX-512, but its vectors differ slightly, so they carry an id of their own and
are never compared with fp32 vectors. `auto` uses what `assetlens models prepare` measured
fastest on this machine among the runtimes that agree with torch, else torch.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    import torch

    from embeddings.clip_loader import LoadedModel


class RuntimeName(StrEnum):
    AUTO = "auto"
    TORCH = "torch"
    ONNX = "onnx"
    ONNX_INT8 = "onnx-int8"


# The runtimes whose vectors differ from torch's beyond float rounding: their name is part of
# the model id recorded with every vector they make.
DISTINCT_VECTORS = frozenset({RuntimeName.ONNX_INT8})
# What "agrees with torch" means for a runtime that shares torch's model id: the worst cosine
# similarity between its vector and torch's over the probe inputs.
SAME_VECTORS_MIN_COSINE = 0.999


def model_id_suffix(runtime: RuntimeName) -> str:
    return f"+{runtime.value}" if runtime in DISTINCT_VECTORS else ""


class Runtime(Protocol):
    """The two forward passes of a CLIP model, unnormalised features out."""

    @property
    def name(self) -> RuntimeName: ...

    def encode_images(self, pixels: torch.Tensor) -> np.ndarray: ...

    def encode_texts(self, tokens: torch.Tensor) -> np.ndarray: ...


class TorchRuntime:
    """open_clip's own modules, in inference mode on the model's device."""

    name = RuntimeName.TORCH

    def __init__(self, loaded: LoadedModel) -> None:
        self._loaded = loaded

    def encode_images(self, pixels: torch.Tensor) -> np.ndarray:
        return self._run(self._loaded.model.encode_image, pixels)

    def encode_texts(self, tokens: torch.Tensor) -> np.ndarray:
        return self._run(self._loaded.model.encode_text, tokens)

    def _run(self, encode: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> np.ndarray:
        import torch

        with torch.inference_mode():
            features = encode(x.to(self._loaded.device))
            return np.asarray(features.float().cpu().numpy(), dtype=np.float32)


def normalized_rows(features: np.ndarray) -> list[list[float]]:
    """L2-normalised rows as Python lists (a zero row stays zero)."""
    features = features.astype(np.float32, copy=False)
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    rows: list[list[float]] = (features / np.maximum(norms, 1e-12)).tolist()
    return rows
