"""Finding CLIP weights on this machine without ever touching the network.

Nothing here imports torch: these checks run before the heavy imports, so a machine without
weights learns it in milliseconds instead of after loading PyTorch.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

# Suffixes open_clip can load a checkpoint from.
WEIGHT_SUFFIXES = frozenset({".safetensors", ".bin", ".pt", ".pth", ".npz"})

# open_clip's file names on the Hugging Face Hub (open_clip.constants, without importing it).
HF_WEIGHTS_NAME = "open_clip_pytorch_model.bin"
HF_SAFE_WEIGHTS_NAME = "open_clip_model.safetensors"
HF_CONFIG_NAME = "open_clip_config.json"

_OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def force_offline() -> None:
    """Make huggingface_hub (and transformers) refuse network access in this process.

    A variable the operator already set is left alone. huggingface_hub reads these when it is
    first imported, so this must run before anything imports it.
    """
    for name in _OFFLINE_VARIABLES:
        os.environ.setdefault(name, "1")


def hf_cache_dir() -> Path:
    """The Hugging Face Hub cache folder huggingface_hub uses (HF_HUB_CACHE / HF_HOME aware)."""
    force_offline()  # before huggingface_hub's first import, which reads the variables
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def url_cache_dir() -> Path:
    """Where open_clip keeps weights it fetched by URL (the OpenAI checkpoints)."""
    return Path.home() / ".cache" / "clip"


def cached_hf_file(repo_id: str, filenames: Sequence[str]) -> Path | None:
    """The first of `filenames` present in the local cache of `repo_id` (main revision)."""
    force_offline()
    from huggingface_hub import try_to_load_from_cache

    for filename in filenames:
        found = try_to_load_from_cache(repo_id, filename)
        # Besides a path it can answer None or a "known to be missing" sentinel.
        if isinstance(found, str) and Path(found).is_file():
            return Path(found)
    return None


def any_cached_weights() -> bool:
    """Whether any weights-like file exists in the local caches at all.

    A cheap necessary condition for a built-in pretrained tag to be loadable: when it is false
    we can say "unavailable" without importing open_clip to learn the tag's exact file.
    """
    snapshots = hf_cache_dir().glob("models--*/snapshots/**/*")
    if any(path.suffix in WEIGHT_SUFFIXES for path in snapshots):
        return True
    url_cache = url_cache_dir()
    return url_cache.is_dir() and any(p.suffix in WEIGHT_SUFFIXES for p in url_cache.iterdir())


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks (checkpoints are hundreds of MB)."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
