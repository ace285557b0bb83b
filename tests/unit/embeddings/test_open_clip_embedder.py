"""OpenClipEmbedder against a tiny open_clip model made by the test suite (random weights:
vectors are deterministic but carry no meaning, so only structural properties are asserted)."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assetlens.config import Settings
from assetlens.errors import EmbeddingUnavailable
from assetlens.ports import Embedder
from embeddings.open_clip_embedder import OpenClipEmbedder
from embeddings.runtimes import RuntimeName, model_id_suffix
from tests.support.tiny_clip import TINY_EMBED_DIM, TINY_MODEL_CONFIG, tiny_clip_settings

pytestmark = pytest.mark.clip


@pytest.fixture(scope="module", params=["torch", "onnx", "onnx-int8"])
def tiny_settings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, onnx_exports: Path
) -> Settings:
    """The tiny model in each runtime: every property below holds in all of them."""
    return tiny_clip_settings(
        tmp_path_factory.mktemp("tiny-clip"), clip_runtime=request.param, clip_onnx_dir=onnx_exports
    )


@pytest.fixture(scope="module")
def embedder(tiny_settings: Settings) -> OpenClipEmbedder:
    return OpenClipEmbedder(tiny_settings)


def noise_image(seed: int, size: tuple[int, int] = (48, 40)) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB")


def assert_close(a: list[list[float]], b: list[list[float]], tol: float = 1e-5) -> None:
    assert np.asarray(a).shape == np.asarray(b).shape
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=tol, rtol=0)


def test_satisfies_the_embedder_port(embedder: OpenClipEmbedder) -> None:
    assert isinstance(embedder, Embedder)


def test_image_and_text_vectors_are_unit_length_float_lists(embedder: OpenClipEmbedder) -> None:
    images = [noise_image(1), Image.new("L", (20, 90), 17), Image.new("RGB", (300, 8), "red")]
    vectors = embedder.embed_images(images) + embedder.embed_texts(["a red fox", ""])
    assert len(vectors) == 5
    for vector in vectors:
        assert len(vector) == TINY_EMBED_DIM == embedder.dimension
        assert all(type(x) is float for x in vector)
        assert math.isclose(math.hypot(*vector), 1.0, abs_tol=1e-5)


def test_same_input_same_vector_different_input_different_vector(
    embedder: OpenClipEmbedder,
) -> None:
    red_a, red_b = Image.new("RGB", (64, 64), "red"), Image.new("RGB", (64, 64), "red")
    [va, vb, vnoise] = embedder.embed_images([red_a, red_b, noise_image(7)])
    assert va == vb
    assert max(abs(x - y) for x, y in zip(va, vnoise, strict=True)) > 1e-3
    [ta, tb, tc] = embedder.embed_texts(["sunset over the sea", "sunset over the sea", "a cat"])
    assert ta == tb
    assert max(abs(x - y) for x, y in zip(ta, tc, strict=True)) > 1e-3


def test_two_instances_on_the_same_weights_agree(
    embedder: OpenClipEmbedder, tiny_settings: Settings
) -> None:
    images = [noise_image(s) for s in range(3)]
    other = OpenClipEmbedder(tiny_settings)
    assert_close(other.embed_images(images), embedder.embed_images(images), tol=1e-6)
    assert_close(other.embed_texts(["one", "two"]), embedder.embed_texts(["one", "two"]), 1e-6)


def test_batched_equals_one_by_one(tiny_settings: Settings) -> None:
    images = [noise_image(s) for s in range(7)]  # 7 with batch size 3: a ragged last batch
    texts = [f"prompt number {i}" for i in range(7)]
    batched = OpenClipEmbedder(tiny_settings.model_copy(update={"clip_batch_size": 3}))
    single = OpenClipEmbedder(tiny_settings.model_copy(update={"clip_batch_size": 1}))
    pairs = [
        (batched.embed_images(images), [single.embed_images([i])[0] for i in images]),
        (batched.embed_texts(texts), [single.embed_texts([t])[0] for t in texts]),
    ]
    for together, alone in pairs:
        if tiny_settings.clip_runtime == "onnx-int8":
            # Dynamic quantisation scales activations per batch: a vector moves a little
            # with its batch companions (docs/BENCHMARKS.md), never far.
            cosines = (np.asarray(together) * np.asarray(alone)).sum(axis=1)
            assert cosines.min() >= 0.98
        else:
            assert_close(together, alone)


def test_transparency_is_flattened_onto_white(embedder: OpenClipEmbedder) -> None:
    clear = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    [v_clear, v_white, v_black] = embedder.embed_images(
        [clear, Image.new("RGB", (32, 32), "white"), Image.new("RGB", (32, 32), "black")]
    )
    assert_close([v_clear], [v_white])
    assert max(abs(x - y) for x, y in zip(v_clear, v_black, strict=True)) > 1e-3


def test_long_text_is_truncated_not_rejected(embedder: OpenClipEmbedder) -> None:
    long_prompt = "masterpiece, best quality, " * 200
    [vector] = embedder.embed_texts([long_prompt])
    assert math.isclose(math.hypot(*vector), 1.0, abs_tol=1e-5)


def test_empty_inputs_give_empty_lists(embedder: OpenClipEmbedder) -> None:
    assert embedder.embed_images([]) == []
    assert embedder.embed_texts([]) == []


def test_concurrent_callers_get_their_own_correct_vectors(tiny_settings: Settings) -> None:
    work = [[noise_image(10 * t + i) for i in range(5)] for t in range(4)]
    expected = [OpenClipEmbedder(tiny_settings).embed_images(batch) for batch in work]
    shared = OpenClipEmbedder(tiny_settings)  # not loaded yet: the threads race to load it
    barrier = threading.Barrier(len(work))
    results: dict[int, list[list[float]]] = {}
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            for _ in range(3):
                results[index] = shared.embed_images(work[index])
                assert shared.embed_texts([f"thread {index}"])
        except BaseException as exc:  # surfaced below, threads swallow exceptions
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    for index, batch_vectors in enumerate(expected):
        assert_close(results[index], batch_vectors)


def test_model_id_is_the_checkpoint_digest(tiny_settings: Settings, tmp_path: Path) -> None:
    checkpoint = tiny_settings.clip_checkpoint
    assert checkpoint is not None
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()[:12]
    first = OpenClipEmbedder(tiny_settings)
    suffix = model_id_suffix(RuntimeName(tiny_settings.clip_runtime))
    assert first.model_id == f"assetlens-tiny-clip/sha256:{digest}{suffix}"
    assert OpenClipEmbedder(tiny_settings).model_id == first.model_id
    reseeded = tiny_clip_settings(tmp_path, seed=1)
    assert OpenClipEmbedder(reseeded).model_id != first.model_id


def test_model_id_of_a_pretrained_tag_needs_no_weights() -> None:
    settings = Settings(clip_model="ViT-B-32", clip_pretrained="laion2b_s34b_b79k")
    assert OpenClipEmbedder(settings).model_id == "ViT-B-32/laion2b_s34b_b79k"


def test_wrapped_config_applies_its_preprocessing(
    tiny_settings: Settings, embedder: OpenClipEmbedder, tmp_path: Path
) -> None:
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(
        json.dumps(
            {
                "model_cfg": TINY_MODEL_CONFIG,
                "preprocess_cfg": {"mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]},
            }
        )
    )
    other = OpenClipEmbedder(tiny_settings.model_copy(update={"clip_model_config": wrapped}))
    image = noise_image(3)
    [v_other] = other.embed_images([image])
    [v_default] = embedder.embed_images([image])
    assert max(abs(x - y) for x, y in zip(v_other, v_default, strict=True)) > 1e-3
    assert other.model_id == embedder.model_id  # same weights file


def test_missing_checkpoint_is_unavailable_with_a_useful_detail(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.pt"
    settings = Settings(clip_model="ViT-B-32", clip_checkpoint=missing)
    embedder = OpenClipEmbedder(settings)
    assert embedder.available() is False
    with pytest.raises(EmbeddingUnavailable) as caught:
        embedder.embed_images([noise_image(0)])
    detail = caught.value.detail
    assert "ViT-B-32" in detail
    assert str(missing) in detail
    assert "ASSETLENS_CLIP_CHECKPOINT" in detail
    assert caught.value.status == 503
    with pytest.raises(EmbeddingUnavailable):
        embedder.embed_texts(["a cat"])
    assert embedder.unavailable_reason() == detail
    with pytest.raises(EmbeddingUnavailable):
        _ = embedder.dimension


@pytest.mark.parametrize(("retry_after_s", "recovers"), [(0.0, True), (3600.0, False)])
def test_a_failed_load_is_retried_only_after_the_cool_down(
    tiny_settings: Settings, tmp_path: Path, retry_after_s: float, recovers: bool
) -> None:
    assert tiny_settings.clip_checkpoint is not None
    late = tmp_path / "late.pt"
    embedder = OpenClipEmbedder(
        tiny_settings.model_copy(update={"clip_checkpoint": late}), retry_after_s=retry_after_s
    )
    assert embedder.available() is False
    shutil.copyfile(tiny_settings.clip_checkpoint, late)  # weights arrive after the failure
    assert embedder.available() is recovers
    assert (embedder.unavailable_reason() is None) is recovers


def test_corrupt_checkpoint_is_unavailable(tiny_settings: Settings, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint" * 100)
    embedder = OpenClipEmbedder(tiny_settings.model_copy(update={"clip_checkpoint": corrupt}))
    assert embedder.available() is False
    reason = embedder.unavailable_reason()
    assert reason is not None
    assert "failed to load" in reason
    assert "assetlens-tiny-clip" in reason


def test_checkpoint_of_another_architecture_is_unavailable(
    tiny_settings: Settings, tmp_path: Path
) -> None:
    bigger = json.loads(json.dumps(TINY_MODEL_CONFIG))
    bigger["embed_dim"] = 48
    config = tmp_path / "bigger.json"
    config.write_text(json.dumps(bigger))
    embedder = OpenClipEmbedder(tiny_settings.model_copy(update={"clip_model_config": config}))
    assert embedder.available() is False  # strict loading: never half-random weights


def test_custom_config_without_checkpoint_is_unavailable(tiny_settings: Settings) -> None:
    embedder = OpenClipEmbedder(tiny_settings.model_copy(update={"clip_checkpoint": None}))
    assert embedder.available() is False
    reason = embedder.unavailable_reason()
    assert reason is not None
    assert "ASSETLENS_CLIP_CHECKPOINT" in reason


def test_disabled_clip_is_unavailable(tiny_settings: Settings) -> None:
    embedder = OpenClipEmbedder(tiny_settings.model_copy(update={"clip_enabled": False}))
    assert embedder.available() is False
    with pytest.raises(EmbeddingUnavailable, match="disabled"):
        embedder.embed_texts(["x"])
