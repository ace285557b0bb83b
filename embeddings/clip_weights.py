"""Where the CLIP weights are and how to build the model from them, found from local files
only (a checkpoint file, the Hugging Face cache, open_clip's URL cache): nothing is
downloaded, and the cheap checks run before torch is imported."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assetlens.config import Settings
from assetlens.errors import EmbeddingUnavailable
from embeddings import offline

_HF_HUB_PREFIX = "hf-hub:"
_LOCAL_DIR_PREFIX = "local-dir:"

# open_clip preprocess-config keys → create_model_and_transforms keyword arguments.
PREPROCESS_KWARGS = {
    "mean": "image_mean",
    "std": "image_std",
    "interpolation": "image_interpolation",
    "resize_mode": "image_resize_mode",
}


@dataclass(frozen=True, slots=True)
class WeightsPlan:
    """What to ask open_clip for once the weights are located."""

    model_name: str
    checkpoint: Path | None  # None for `local-dir:`, where open_clip picks the file itself
    preprocess: dict[str, Any] = field(default_factory=dict)
    quick_gelu: bool = False
    custom_config: dict[str, Any] | None = None


# -- identity -------------------------------------------------------------------------------


def model_id_for(settings: Settings) -> tuple[str, bool]:
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


def describe(settings: Settings) -> str:
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


def precheck(settings: Settings) -> None:
    """Fail in milliseconds, before importing torch, when weights clearly are not here."""
    described = describe(settings)
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


def plan(settings: Settings, open_clip: Any) -> WeightsPlan:
    """Exact weights and build options; may consult open_clip's pretrained-tag table."""
    name = settings.clip_model
    if settings.clip_model_config is not None:
        assert settings.clip_checkpoint is not None  # guaranteed by precheck
        model_cfg, preprocess = _read_model_config(settings.clip_model_config, name)
        return WeightsPlan(name, settings.clip_checkpoint, preprocess, custom_config=model_cfg)
    if name.startswith(_HF_HUB_PREFIX):
        snapshot = _hf_hub_snapshot(name.removeprefix(_HF_HUB_PREFIX))
        return WeightsPlan(f"{_LOCAL_DIR_PREFIX}{snapshot}", None)
    if name.startswith(_LOCAL_DIR_PREFIX):
        return WeightsPlan(name, None)
    if name not in open_clip.list_models():
        raise EmbeddingUnavailable(
            f"CLIP model {name!r} is not a built-in open_clip architecture; give its JSON "
            "config in ASSETLENS_CLIP_MODEL_CONFIG."
        )
    tag = open_clip.get_pretrained_cfg(name, settings.clip_pretrained)
    if settings.clip_checkpoint is not None:
        # A local copy of a known tag keeps that tag's preprocessing and activation.
        return WeightsPlan(
            name, settings.clip_checkpoint, _preprocess_of(tag), bool(tag.get("quick_gelu"))
        )
    if not tag:
        known = ", ".join(open_clip.list_pretrained_tags_by_model(name)) or "none"
        raise EmbeddingUnavailable(
            f"CLIP model {describe(settings)}: unknown pretrained tag (known: {known})."
        )
    return WeightsPlan(
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
        f"CLIP model {describe(settings)} is not available: weights not found locally "
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
    return {key: cfg[key] for key in PREPROCESS_KWARGS if cfg.get(key) is not None}


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
