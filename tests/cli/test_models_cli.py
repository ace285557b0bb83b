"""`assetlens models prepare`, run as a user would (a subprocess) on the tiny model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from embeddings.open_clip_embedder import OpenClipEmbedder
from embeddings.runtime_choice import recorded_choice
from tests.support.tiny_clip import make_tiny_clip, tiny_clip_settings

pytestmark = pytest.mark.clip


def test_prepare_records_the_runtime_auto_then_uses(tmp_path: Path) -> None:
    config, checkpoint, name = make_tiny_clip(tmp_path / "model")
    env = {
        **os.environ,
        "ASSETLENS_DATA_DIR": str(tmp_path / "data"),
        "HF_HUB_OFFLINE": "1",
        "ASSETLENS_CLIP_MODEL": name,
        "ASSETLENS_CLIP_MODEL_CONFIG": str(config),
        "ASSETLENS_CLIP_CHECKPOINT": str(checkpoint),
        "COLUMNS": "200",
    }
    result = subprocess.run(
        [sys.executable, "-m", "assetlens", "models", "prepare", "--images", "4"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for runtime in ("torch", "onnx", "onnx-int8"):
        assert runtime in result.stderr
    settings = tiny_clip_settings(tmp_path / "model", data_dir=tmp_path / "data")
    embedder = OpenClipEmbedder(settings)
    choice = recorded_choice(settings, embedder.model_id)
    assert choice is not None
    assert f"will use {choice.value}" in result.stderr
    assert embedder.runtime is choice


def test_prepare_without_a_model_says_so(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ASSETLENS_DATA_DIR": str(tmp_path),
        "HF_HUB_OFFLINE": "1",
        "ASSETLENS_CLIP_CHECKPOINT": str(tmp_path / "missing.pt"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "assetlens", "models", "prepare"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1
    assert "No CLIP model" in result.stderr
