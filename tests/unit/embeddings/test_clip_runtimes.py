"""The CLIP runtimes (torch, ONNX Runtime fp32 and int8) on the tiny model: what each one's
vectors are worth against torch's, which id they carry, and how `auto` chooses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assetlens.config import Settings
from embeddings import onnx_runtime, runtime_choice
from embeddings.clip_loader import load
from embeddings.open_clip_embedder import OpenClipEmbedder
from embeddings.runtimes import SAME_VECTORS_MIN_COSINE, RuntimeName
from tests.support.tiny_clip import tiny_clip_settings

pytestmark = pytest.mark.clip

TEXTS = ["a red fox in the snow", "a blue cat", ""]


@pytest.fixture
def settings(tmp_path: Path, onnx_exports: Path) -> Settings:
    return tiny_clip_settings(tmp_path, clip_onnx_dir=onnx_exports)


def images() -> list[Image.Image]:
    rng = np.random.default_rng(3)
    return [
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8), "RGB") for _ in range(5)
    ]


def vectors(settings: Settings, runtime: str) -> tuple[OpenClipEmbedder, np.ndarray]:
    embedder = OpenClipEmbedder(settings.model_copy(update={"clip_runtime": runtime}))
    found = np.asarray(embedder.embed_images(images()) + embedder.embed_texts(TEXTS))
    return embedder, found


def test_onnx_fp32_gives_torchs_vectors_under_torchs_id(settings: Settings) -> None:
    torch_embedder, expected = vectors(settings, "torch")
    onnx_embedder, found = vectors(settings, "onnx")
    assert onnx_embedder.runtime is RuntimeName.ONNX
    assert (found * expected).sum(axis=1).min() >= SAME_VECTORS_MIN_COSINE
    assert onnx_embedder.model_id == torch_embedder.model_id


def test_int8_vectors_are_close_but_carry_their_own_id(settings: Settings) -> None:
    torch_embedder, expected = vectors(settings, "torch")
    int8_embedder, found = vectors(settings, "onnx-int8")
    assert int8_embedder.runtime is RuntimeName.ONNX_INT8
    assert (found * expected).sum(axis=1).min() >= 0.95
    assert int8_embedder.model_id == f"{torch_embedder.model_id}+onnx-int8"


def test_auto_is_torch_until_prepare_records_a_choice(settings: Settings) -> None:
    assert OpenClipEmbedder(settings).runtime is RuntimeName.TORCH
    loaded = load(settings)
    model_id = OpenClipEmbedder(settings).model_id
    measured, choice = runtime_choice.prepare(settings, loaded, model_id, n_images=4, repeats=1)
    assert {m.runtime for m in measured} == set(RuntimeName) - {RuntimeName.AUTO}
    fastest_agreeing = max(
        (m for m in measured if m.runtime is not RuntimeName.ONNX_INT8),
        key=lambda m: m.images_per_s,
    )
    assert choice is fastest_agreeing.runtime
    assert OpenClipEmbedder(settings).runtime is choice
    assert runtime_choice.recorded_choice(settings, model_id) is choice


def test_auto_falls_back_to_torch_when_the_recorded_runtime_breaks(
    settings: Settings, tmp_path: Path
) -> None:
    broken = settings.model_copy(update={"clip_onnx_dir": tmp_path / "broken"})
    model_id = OpenClipEmbedder(broken).model_id
    folder = onnx_runtime.export_dir(broken, model_id)
    folder.mkdir(parents=True)
    (folder / "visual.onnx").write_bytes(b"not a model")
    (folder / "text.onnx").write_bytes(b"not a model")
    (folder / f"choice-{runtime_choice.machine_key()}.json").write_text(
        json.dumps({"runtime": "onnx"})
    )
    embedder = OpenClipEmbedder(broken)
    assert embedder.runtime is RuntimeName.TORCH
    assert len(embedder.embed_texts(["still works"])[0]) == embedder.dimension


def test_an_explicit_runtime_that_cannot_run_makes_the_model_unavailable(
    settings: Settings, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    embedder = OpenClipEmbedder(
        settings.model_copy(update={"clip_runtime": "onnx", "clip_onnx_dir": blocker})
    )
    assert embedder.available() is False
    reason = embedder.unavailable_reason()
    assert reason is not None and "failed to load" in reason
