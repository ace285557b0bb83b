"""A tiny open_clip model (config JSON + seeded checkpoint) for tests.

It is loaded by the production code path (`OpenClipEmbedder` with `clip_model_config` and
`clip_checkpoint`), so tests exercise the real loading, preprocessing and tokenizer.
Weights are random: vectors are deterministic but carry no semantics.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assetlens.config import Settings

TINY_MODEL_NAME = "assetlens-tiny-clip"
TINY_EMBED_DIM = 32

# Same schema as open_clip's bundled model_configs/*.json. vocab_size matches the default
# tokenizer's, so open_clip.get_tokenizer gives real token ids.
TINY_MODEL_CONFIG: dict[str, Any] = {
    "embed_dim": TINY_EMBED_DIM,
    "vision_cfg": {
        "image_size": 32,
        "layers": 1,
        "width": 32,
        "head_width": 16,
        "patch_size": 8,
    },
    "text_cfg": {
        "context_length": 16,
        "vocab_size": 49408,
        "width": 32,
        "heads": 2,
        "layers": 1,
    },
}


def make_tiny_clip(directory: Path, *, seed: int = 0) -> tuple[Path, Path, str]:
    """Write the tiny model's config and a checkpoint made from `seed` into `directory`.

    Returns (config path, checkpoint path, model name). The same seed gives byte-identical
    weights, so the checkpoint's digest (and the embedder's model_id) is reproducible.
    """
    import open_clip
    import torch

    directory.mkdir(parents=True, exist_ok=True)
    config_path = directory / f"{TINY_MODEL_NAME}.json"
    config_path.write_text(json.dumps(TINY_MODEL_CONFIG, indent=2), encoding="utf-8")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = open_clip.CLIP(**json.loads(config_path.read_text(encoding="utf-8")))
    checkpoint_path = directory / f"{TINY_MODEL_NAME}-seed{seed}.pt"
    torch.save(model.state_dict(), checkpoint_path)
    return config_path, checkpoint_path, TINY_MODEL_NAME


def tiny_clip_settings(directory: Path, *, seed: int = 0, **overrides: Any) -> Settings:
    """Settings whose CLIP knobs point at a freshly made tiny model under `directory`."""
    config_path, checkpoint_path, name = make_tiny_clip(directory, seed=seed)
    values: dict[str, Any] = {
        "data_dir": directory / "data",
        "clip_model": name,
        "clip_model_config": config_path,
        "clip_checkpoint": checkpoint_path,
        "clip_device": "cpu",
        "clip_batch_size": 4,
    }
    values.update(overrides)
    return Settings(**values)
