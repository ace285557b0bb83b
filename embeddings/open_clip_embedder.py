"""`OpenClipEmbedder`: the Embedder port on open_clip + PyTorch, loaded lazily from local files.

Weights come from `Settings.clip_checkpoint` (a local file) or the local Hugging Face cache;
nothing is ever downloaded. torch and open_clip are imported on first use, not at import.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from PIL import Image

from assetlens.config import Settings
from assetlens.errors import EmbeddingUnavailable
from embeddings import offline

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)
_T = TypeVar("_T")

# After a failed load, calls answer from the remembered failure for this long, so a machine
# without weights does not retry (and log) on every request, yet weights copied in later are
# picked up without a restart.
DEFAULT_RETRY_AFTER_S = 60.0

_HF_HUB_PREFIX = "hf-hub:"
_LOCAL_DIR_PREFIX = "local-dir:"

# open_clip preprocess-config keys → create_model_and_transforms keyword arguments.
_PREPROCESS_KWARGS = {
    "mean": "image_mean",
    "std": "image_std",
    "interpolation": "image_interpolation",
    "resize_mode": "image_resize_mode",
}


@dataclass(frozen=True, slots=True)
class _WeightsPlan:
    """What to ask open_clip for once the weights are located."""

    model_name: str
    checkpoint: Path | None  # None for `local-dir:`, where open_clip picks the file itself
    preprocess: dict[str, Any] = field(default_factory=dict)
    quick_gelu: bool = False
    custom_config: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class _LoadedModel:
    model: Any  # open_clip.CLIP (untyped library)
    preprocess: Callable[[Image.Image], torch.Tensor]
    tokenizer: Callable[[list[str]], torch.Tensor]
    device: torch.device
    dimension: int


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
        self._loaded: _LoadedModel | None = None
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
                model_id, final = _model_id_for(self._settings)
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
        self, loaded: _LoadedModel, encode: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor
    ) -> list[list[float]]:
        import torch

        with self._infer_lock, torch.inference_mode():
            features = encode(x.to(loaded.device))
            features = torch.nn.functional.normalize(features.float(), dim=-1)
            rows: list[list[float]] = features.cpu().tolist()
        return rows

    def _ensure_loaded(self) -> _LoadedModel:
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
                self._loaded = _load(self._settings)
            except EmbeddingUnavailable as exc:
                self._remember_failure(exc.detail)
                raise
            except Exception as exc:  # any library error while loading means "no model"
                detail = (
                    f"CLIP model {_describe(self._settings)} failed to load: "
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


# -- identity -------------------------------------------------------------------------------


def _model_id_for(settings: Settings) -> tuple[str, bool]:
    """(model id, whether it is final). Hashes the checkpoint file when one is configured."""
    name = settings.clip_model
    checkpoint = settings.clip_checkpoint
    if checkpoint is not None:
        if not checkpoint.is_file():
            return f"{name}/missing:{checkpoint.name}", False
        return f"{name}/sha256:{offline.file_sha256(checkpoint)[:12]}", True
    if name.startswith((_HF_HUB_PREFIX, _LOCAL_DIR_PREFIX)):
        return name, True
    return f"{name}/{settings.clip_pretrained}", True


def _describe(settings: Settings) -> str:
    if settings.clip_checkpoint is not None:
        return f"{settings.clip_model!r} (checkpoint {settings.clip_checkpoint})"
    if settings.clip_model.startswith((_HF_HUB_PREFIX, _LOCAL_DIR_PREFIX)):
        return repr(settings.clip_model)
    return f"{settings.clip_model!r} (pretrained {settings.clip_pretrained!r})"


def _how_to_provide(repo: str | None = None) -> str:
    cache = offline.hf_cache_dir()
    if repo:
        where = f"the Hugging Face repo {repo} in the local cache ({cache}), e.g. with "
        fetch = f"`hf download {repo}` on a machine with network access"
    else:
        where, fetch = f"its Hugging Face repo in the local cache ({cache})", ""
    return (
        "Assetlens never downloads weights: point ASSETLENS_CLIP_CHECKPOINT at a local "
        f"open_clip checkpoint file, or put {where}{fetch}. Other features keep working."
    )


# -- locating weights (cheap checks first, no torch) ------------------------------------------


def _precheck(settings: Settings) -> None:
    """Fail in milliseconds, before importing torch, when weights clearly are not here."""
    described = _describe(settings)
    if not settings.clip_enabled:
        raise EmbeddingUnavailable("CLIP embeddings are disabled (ASSETLENS_CLIP_ENABLED=false).")
    config = settings.clip_model_config
    if config is not None and not config.is_file():
        raise EmbeddingUnavailable(
            f"CLIP model {described}: model config {config} (ASSETLENS_CLIP_MODEL_CONFIG) "
            "does not exist."
        )
    checkpoint = settings.clip_checkpoint
    if checkpoint is not None:
        if not checkpoint.is_file():
            raise EmbeddingUnavailable(
                f"CLIP model {described} is not available: checkpoint file {checkpoint} "
                f"(ASSETLENS_CLIP_CHECKPOINT) does not exist. {_how_to_provide()}"
            )
        return
    if config is not None:
        raise EmbeddingUnavailable(
            f"CLIP model {described}: a custom model config (ASSETLENS_CLIP_MODEL_CONFIG) needs "
            "its weights in ASSETLENS_CLIP_CHECKPOINT."
        )
    name = settings.clip_model
    if name.startswith(_HF_HUB_PREFIX):
        _hf_hub_snapshot(name.removeprefix(_HF_HUB_PREFIX))  # raises when not cached
    elif name.startswith(_LOCAL_DIR_PREFIX):
        folder = Path(name.removeprefix(_LOCAL_DIR_PREFIX))
        if not (folder / offline.HF_CONFIG_NAME).is_file():
            raise EmbeddingUnavailable(
                f"CLIP model {described}: {folder} has no {offline.HF_CONFIG_NAME}."
            )
    elif not offline.any_cached_weights():
        raise EmbeddingUnavailable(
            f"CLIP model {described} is not available: no weights in the local Hugging Face "
            f"cache ({offline.hf_cache_dir()}) nor in {offline.url_cache_dir()}. "
            f"{_how_to_provide()}"
        )


def _hf_hub_snapshot(repo: str) -> Path:
    """The cached snapshot folder of an open_clip Hub repo (config and weights both present)."""
    config = offline.cached_hf_file(repo, [offline.HF_CONFIG_NAME])
    weights = offline.cached_hf_file(repo, [offline.HF_SAFE_WEIGHTS_NAME, offline.HF_WEIGHTS_NAME])
    if config is None or weights is None or config.parent != weights.parent:
        raise EmbeddingUnavailable(
            f"CLIP model 'hf-hub:{repo}' is not available: {offline.HF_CONFIG_NAME} and "
            f"weights are not both in the local Hugging Face cache ({offline.hf_cache_dir()}). "
            f"{_how_to_provide(repo)}"
        )
    return config.parent


def _plan(settings: Settings, open_clip: Any) -> _WeightsPlan:
    """Exact weights and build options; may consult open_clip's pretrained-tag table."""
    name = settings.clip_model
    if settings.clip_model_config is not None:
        assert settings.clip_checkpoint is not None  # guaranteed by _precheck
        model_cfg, preprocess = _read_model_config(settings.clip_model_config, name)
        return _WeightsPlan(name, settings.clip_checkpoint, preprocess, custom_config=model_cfg)
    if name.startswith(_HF_HUB_PREFIX):
        snapshot = _hf_hub_snapshot(name.removeprefix(_HF_HUB_PREFIX))
        return _WeightsPlan(f"{_LOCAL_DIR_PREFIX}{snapshot}", None)
    if name.startswith(_LOCAL_DIR_PREFIX):
        return _WeightsPlan(name, None)
    if name not in open_clip.list_models():
        raise EmbeddingUnavailable(
            f"CLIP model {name!r} is not a built-in open_clip architecture; give its JSON "
            "config in ASSETLENS_CLIP_MODEL_CONFIG."
        )
    tag = open_clip.get_pretrained_cfg(name, settings.clip_pretrained)
    if settings.clip_checkpoint is not None:
        # A local copy of a known tag keeps that tag's preprocessing and activation.
        return _WeightsPlan(
            name, settings.clip_checkpoint, _preprocess_of(tag), bool(tag.get("quick_gelu"))
        )
    if not tag:
        known = ", ".join(open_clip.list_pretrained_tags_by_model(name)) or "none"
        raise EmbeddingUnavailable(
            f"CLIP model {_describe(settings)}: unknown pretrained tag (known: {known})."
        )
    return _WeightsPlan(
        name, _cached_tag_weights(settings, tag), _preprocess_of(tag), bool(tag.get("quick_gelu"))
    )


def _cached_tag_weights(settings: Settings, tag: dict[str, Any]) -> Path:
    if tag.get("file"):
        return Path(str(tag["file"]))
    repo: str | None = None
    looked: list[str] = []
    if tag.get("hf_hub"):
        repo, filename = os.path.split(str(tag["hf_hub"]))
        candidates = _hf_candidates(filename)
        found = offline.cached_hf_file(repo, candidates)
        if found is not None:
            return found
        looked.append(f"{repo} ({', '.join(candidates)}) in {offline.hf_cache_dir()}")
    if tag.get("url"):
        path = offline.url_cache_dir() / os.path.basename(str(tag["url"]))
        if path.is_file():
            return path
        looked.append(str(path))
    raise EmbeddingUnavailable(
        f"CLIP model {_describe(settings)} is not available: weights not found locally "
        f"(looked for {'; '.join(looked)}). {_how_to_provide(repo)}"
    )


def _hf_candidates(filename: str) -> list[str]:
    """open_clip's own preference: a .safetensors twin first, then the named file."""
    if not filename:
        return [offline.HF_SAFE_WEIGHTS_NAME, offline.HF_WEIGHTS_NAME]
    if filename == offline.HF_WEIGHTS_NAME:
        return [offline.HF_SAFE_WEIGHTS_NAME, filename]
    if filename.endswith((".bin", ".pth")):
        return [filename[:-4] + ".safetensors", filename]
    return [filename]


def _preprocess_of(cfg: dict[str, Any]) -> dict[str, Any]:
    return {key: cfg[key] for key in _PREPROCESS_KWARGS if cfg.get(key) is not None}


def _read_model_config(path: Path, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A model config in open_clip's format, bare or wrapped as in open_clip_config.json."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EmbeddingUnavailable(f"CLIP model config {path} is unreadable: {exc}") from exc
    if not isinstance(raw, dict):
        raise EmbeddingUnavailable(f"CLIP model config {path} is not a JSON object.")
    model_cfg = raw.get("model_cfg", raw)
    preprocess = raw.get("preprocess_cfg", {})
    missing = [k for k in ("embed_dim", "vision_cfg", "text_cfg") if k not in model_cfg]
    if missing or not isinstance(preprocess, dict):
        raise EmbeddingUnavailable(
            f"CLIP model config {path} for {name!r} is not an open_clip config "
            f"(missing {', '.join(missing) or 'a valid preprocess_cfg'})."
        )
    return model_cfg, _preprocess_of(preprocess)


def _register_config(open_clip: Any, name: str, model_cfg: dict[str, Any]) -> None:
    """Make `name` resolve to `model_cfg` in open_clip's registry (its public API reads
    configs from `<name>.json` files, so hand it one)."""
    with tempfile.TemporaryDirectory(prefix="assetlens-clip-") as folder:
        path = Path(folder) / f"{name.replace('/', '-')}.json"
        path.write_text(json.dumps(model_cfg), encoding="utf-8")
        open_clip.add_model_config(path)


# -- loading --------------------------------------------------------------------------------


def _load(settings: Settings) -> _LoadedModel:
    offline.force_offline()
    _precheck(settings)
    import open_clip
    import torch

    plan = _plan(settings, open_clip)
    if plan.custom_config is not None:
        _register_config(open_clip, plan.model_name, plan.custom_config)
    if settings.clip_threads > 0:
        torch.set_num_threads(settings.clip_threads)
    device = _device(settings.clip_device)
    options = {_PREPROCESS_KWARGS[key]: value for key, value in plan.preprocess.items()}
    model, _, preprocess = open_clip.create_model_and_transforms(
        plan.model_name,
        pretrained=str(plan.checkpoint) if plan.checkpoint is not None else None,
        device=device,
        force_quick_gelu=plan.quick_gelu,
        require_pretrained=True,  # never serve randomly initialised weights
        **options,
    )
    model.eval()
    tokenizer = open_clip.get_tokenizer(plan.model_name)
    dimension = int(open_clip.get_model_config(plan.model_name)["embed_dim"])
    log.info("loaded CLIP model %s on %s (%d dims)", _describe(settings), device, dimension)
    return _LoadedModel(model, preprocess, tokenizer, device, dimension)


def _device(requested: str) -> torch.device:
    import torch

    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise EmbeddingUnavailable(f"ASSETLENS_CLIP_DEVICE={requested} but CUDA is not available.")
    return device
