"""`OpenClipEmbedder`: the Embedder port on open_clip + PyTorch, loaded lazily from local files.

Weights come from `Settings.clip_checkpoint` (a local file) or the local Hugging Face cache;
nothing is ever downloaded. torch and open_clip are imported on first use, not at import.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from PIL import Image

from assetlens.config import Settings
from assetlens.errors import EmbeddingUnavailable
from embeddings.clip_loader import LoadedModel, load
from embeddings.clip_weights import describe, model_id_for

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)
_T = TypeVar("_T")

# After a failed load, calls answer from the remembered failure for this long, so a machine
# without weights does not retry (and log) on every request, yet weights copied in later are
# picked up without a restart.
DEFAULT_RETRY_AFTER_S = 60.0


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
        self._loaded: LoadedModel | None = None
        self._failure: str | None = None
        self._failed_at = 0.0
        self._model_id: str | None = None

    # -- Embedder port -----------------------------------------------------------------

    @property
    def model_id(self) -> str:
        """`<model>/<pretrained tag>`, or `<model>/sha256:<12 hex>` for a local checkpoint."""
        if self._model_id is not None:
            return self._model_id
        with self._id_lock:
            if self._model_id is None:
                model_id, final = model_id_for(self._settings)
                if not final:
                    return model_id  # checkpoint missing: don't pin an id that will change
                self._model_id = model_id
            return self._model_id

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

        loaded = self._ensure_loaded()
        vectors: list[list[float]] = []
        for batch in _chunks(images, self._batch_size):
            pixels = torch.stack([loaded.preprocess(_to_rgb(image)) for image in batch])
            vectors.extend(self._forward(loaded, loaded.model.encode_image, pixels))
        return vectors

    def embed_texts(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text; texts longer than the model's context are truncated."""
        if not texts:
            return []
        loaded = self._ensure_loaded()
        vectors: list[list[float]] = []
        for batch in _chunks(texts, self._batch_size):
            tokens = loaded.tokenizer(list(batch))
            vectors.extend(self._forward(loaded, loaded.model.encode_text, tokens))
        return vectors

    # -- extras for wiring and health -----------------------------------------------------

    @property
    def dimension(self) -> int:
        """Vector length; loads the model (raises EmbeddingUnavailable without weights)."""
        return self._ensure_loaded().dimension

    def unavailable_reason(self) -> str | None:
        """The remembered reason of the last failed load, or None."""
        return self._failure

    # -- internals ------------------------------------------------------------------------

    @property
    def _batch_size(self) -> int:
        return max(1, self._settings.clip_batch_size)

    def _forward(
        self, loaded: LoadedModel, encode: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor
    ) -> list[list[float]]:
        import torch

        with self._infer_lock, torch.inference_mode():
            features = encode(x.to(loaded.device))
            features = torch.nn.functional.normalize(features.float(), dim=-1)
            rows: list[list[float]] = features.cpu().tolist()
        return rows

    def _ensure_loaded(self) -> LoadedModel:
        loaded = self._loaded
        if loaded is not None:
            return loaded
        with self._load_lock:
            if self._loaded is not None:
                return self._loaded
            if self._failure is not None and (
                time.monotonic() - self._failed_at < self._retry_after_s
            ):
                raise EmbeddingUnavailable(self._failure)
            try:
                self._loaded = load(self._settings)
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
            return self._loaded

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
