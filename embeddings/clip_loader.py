"""Building the CLIP model with open_clip and PyTorch (both imported here on first use only)
from the weights clip_weights.py located."""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from assetlens.config import Settings
from assetlens.errors import EmbeddingUnavailable
from embeddings import offline
from embeddings.clip_weights import PREPROCESS_KWARGS, describe, plan, precheck

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LoadedModel:
    model: Any  # open_clip.CLIP (untyped library)
    preprocess: Callable[[Image.Image], torch.Tensor]
    tokenizer: Callable[[list[str]], torch.Tensor]
    device: torch.device
    dimension: int


def _register_config(open_clip: Any, name: str, model_cfg: dict[str, Any]) -> None:
    """Make `name` resolve to `model_cfg` in open_clip's registry (its public API reads
    configs from `<name>.json` files, so hand it one)."""
    with tempfile.TemporaryDirectory(prefix="assetlens-clip-") as folder:
        path = Path(folder) / f"{name.replace('/', '-')}.json"
        path.write_text(json.dumps(model_cfg), encoding="utf-8")
        open_clip.add_model_config(path)


def load(settings: Settings) -> LoadedModel:
    offline.force_offline()
    precheck(settings)
    import open_clip
    import torch

    weights = plan(settings, open_clip)
    if weights.custom_config is not None:
        _register_config(open_clip, weights.model_name, weights.custom_config)
    if settings.clip_threads > 0:
        torch.set_num_threads(settings.clip_threads)
    device = _device(settings.clip_device)
    options = {PREPROCESS_KWARGS[key]: value for key, value in weights.preprocess.items()}
    model, _, preprocess = open_clip.create_model_and_transforms(
        weights.model_name,
        pretrained=str(weights.checkpoint) if weights.checkpoint is not None else None,
        device=device,
        force_quick_gelu=weights.quick_gelu,
        require_pretrained=True,  # never serve randomly initialised weights
        **options,
    )
    model.eval()
    tokenizer = open_clip.get_tokenizer(weights.model_name)
    dimension = int(open_clip.get_model_config(weights.model_name)["embed_dim"])
    log.info("loaded CLIP model %s on %s (%d dims)", describe(settings), device, dimension)
    return LoadedModel(model, preprocess, tokenizer, device, dimension)


def _device(requested: str) -> torch.device:
    import torch

    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise EmbeddingUnavailable(f"ASSETLENS_CLIP_DEVICE={requested} but CUDA is not available.")
    return device
