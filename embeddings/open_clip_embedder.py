"""`OpenClipEmbedder`: the Embedder port on open_clip, loaded lazily from local files.

Weights come from `Settings.clip_checkpoint` (a local file) or the local Hugging Face cache;
nothing is ever downloaded. torch and open_clip are imported on first use, not at import.
The forward passes run in the runtime `Settings.clip_runtime` names (embeddings/runtimes.py:
torch, or ONNX Runtime fp32/int8); preprocessing and tokenising are open_clip's in each.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from PIL import Image

from assetlens.config import Settings
from assetlens.errors import EmbeddingUnavailable
from embeddings import runtime_choice
from embeddings.clip_loader import LoadedModel, load
from embeddings.clip_weights import describe, model_id_for
from embeddings.runtimes import Runtime, RuntimeName, model_id_suffix, normalized_rows

if TYPE_CHECKING:
    import numpy as np
    import torch

log = logging.getLogger(__name__)
_T = TypeVar("_T")

# After a failed load, calls answer from the remembered failure for this long, so a machine
# without weights does not retry (and log) on every request, yet weights copied in later are
# picked up without a restart.
DEFAULT_RETRY_AFTER_S = 60.0


@dataclass(frozen=True, slots=True)
class _Ready:
    loaded: LoadedModel
    runtime: Runtime


class OpenClipEmbedder:
    """CLIP image/text encoder (open_clip) producing L2-normalised float32 vectors.

    Thread-safe. The model loads once, on the first `available()` or `embed_*` call; a failed
    load is remembered for `retry_after_s` seconds, during which `available()` is False and
    `embed_*` raise EmbeddingUnavailable with the reason.
    """

    def __init__(self, settings: Settings, *, retry_after_s: float = DEFAULT_RETRY_AFTER_S) -> None:
        self._settings = settings
        self._retry_after_s = retry_after_s
        self._load_lock = threading.Lock()
        # CPU inference already uses every core; serialising forward passes avoids
        # oversubscription while preprocessing (PIL) still runs in the callers' threads.
        self._infer_lock = threading.Lock()
        self._id_lock = threading.Lock()
        self._ready: _Ready | None = None
        self._failure: str | None = None
        self._failed_at = 0.0
        self._model_id: str | None = None

    # -- Embedder port -----------------------------------------------------------------

    @property
    def model_id(self) -> str:
        """`<model>/<pretrained tag>`, or `<model>/sha256:<12 hex>` for a local checkpoint;
        followed by `+<runtime>` when the runtime's vectors differ from torch's (int8)."""
        if self._model_id is not None:
            return self._model_id
        with self._id_lock:
            if self._model_id is None:
                model_id, final = model_id_for(self._settings)
                model_id += model_id_suffix(RuntimeName(self._settings.clip_runtime))
                if not final:
                    return model_id  # checkpoint missing: don't pin an id that will change
                self._model_id = model_id
            return self._model_id

    @property
    def runtime(self) -> RuntimeName:
        """The runtime the forward passes run in (loads the model)."""
        return self._ensure_loaded().runtime.name

    def available(self) -> bool:
        """Whether the model is loaded or can be loaded now (loads it on first call)."""
        try:
            self._ensure_loaded()
        except EmbeddingUnavailable:
            return False
        return True

    def embed_images(self, images: Sequence[Image.Image]) -> list[list[float]]:
        """One vector per image (converted to RGB; transparency flattened onto white)."""
        if not images:
            return []
        import torch

        ready = self._ensure_loaded()
        vectors: list[list[float]] = []
        for batch in _chunks(images, self._batch_size):
            pixels = torch.stack([ready.loaded.preprocess(_to_rgb(image)) for image in batch])
            vectors.extend(self._forward(ready.runtime.encode_images, pixels))
        return vectors

    def embed_texts(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text; texts longer than the model's context are truncated."""
        if not texts:
            return []
        ready = self._ensure_loaded()
        vectors: list[list[float]] = []
        for batch in _chunks(texts, self._batch_size):
            tokens = ready.loaded.tokenizer(list(batch))
            vectors.extend(self._forward(ready.runtime.encode_texts, tokens))
        return vectors

    # -- extras for wiring and health -----------------------------------------------------

    @property
    def dimension(self) -> int:
        """Vector length; loads the model (raises EmbeddingUnavailable without weights)."""
        return self._ensure_loaded().loaded.dimension

    def unavailable_reason(self) -> str | None:
        """The remembered reason of the last failed load, or None."""
        return self._failure

    # -- internals ------------------------------------------------------------------------

    @property
    def _batch_size(self) -> int:
        return max(1, self._settings.clip_batch_size)

    def _forward(
        self, encode: Callable[[torch.Tensor], np.ndarray], x: torch.Tensor
    ) -> list[list[float]]:
        with self._infer_lock:
            features = encode(x)
        return normalized_rows(features)

    def _ensure_loaded(self) -> _Ready:
        ready = self._ready
        if ready is not None:
            return ready
        with self._load_lock:
            if self._ready is not None:
                return self._ready
            if self._failure is not None and (
                time.monotonic() - self._failed_at < self._retry_after_s
            ):
                raise EmbeddingUnavailable(self._failure)
            try:
                loaded = load(self._settings)
                runtime = runtime_choice.resolve(self._settings, loaded, self.model_id)
                self._ready = _Ready(loaded, runtime)
            except EmbeddingUnavailable as exc:
                self._remember_failure(exc.detail)
                raise
            except Exception as exc:  # any library error while loading means "no model"
                detail = (
                    f"CLIP model {describe(self._settings)} failed to load: "
                    f"{type(exc).__name__}: {exc}"
                )
                self._remember_failure(detail)
                raise EmbeddingUnavailable(detail) from exc
            self._failure = None
            log.info("CLIP forward passes run in %s", runtime.name.value)
            return self._ready

    def _remember_failure(self, detail: str) -> None:
        self._failure = detail
        self._failed_at = time.monotonic()
        log.warning("visual search unavailable: %s", detail)


def _chunks(items: Sequence[_T], size: int) -> list[Sequence[_T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.has_transparency_data:
        # Generated logos and icons are drawn for light pages; plain convert("RGB") would show
        # whatever colour hides under transparent pixels (often black).
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
