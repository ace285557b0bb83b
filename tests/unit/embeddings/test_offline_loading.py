"""Loading from local files only. Each case runs in a fresh interpreter because
huggingface_hub reads its cache location from the environment once, at import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from tests.support.tiny_clip import TINY_MODEL_CONFIG, make_tiny_clip

REPO_ROOT = Path(__file__).resolve().parents[3]


def run_python(code: str, home: Path, **env: str) -> Any:
    """Run `code` with HOME and the HF cache inside `home`; it prints one JSON value last."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HF_", "HUGGINGFACE_", "ASSETLENS_", "XDG_CACHE"))
    }
    environment.update(HOME=str(home), HF_HOME=str(home / "hf"), PYTHONPATH=str(REPO_ROOT))
    environment.update(env)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_adapter_does_not_import_torch(tmp_path: Path) -> None:
    imported = run_python(
        """
        import json, sys
        import embeddings, embeddings.offline, embeddings.open_clip_embedder
        print(json.dumps(sorted(m for m in ("torch", "open_clip") if m in sys.modules)))
        """,
        tmp_path,
    )
    assert imported == []


def test_default_model_without_any_cache_fails_before_importing_torch(tmp_path: Path) -> None:
    result = run_python(
        """
        import json, sys
        from assetlens.config import Settings
        from assetlens.errors import EmbeddingUnavailable
        from embeddings.open_clip_embedder import OpenClipEmbedder
        embedder = OpenClipEmbedder(Settings())
        try:
            embedder.embed_texts(["a cat"])
            detail = None
        except EmbeddingUnavailable as exc:
            detail = exc.detail
        print(json.dumps({"available": embedder.available(), "detail": detail,
                          "torch": "torch" in sys.modules}))
        """,
        tmp_path,
    )
    assert result["available"] is False
    assert result["torch"] is False  # answered from a file-system check, not a model load
    assert "'ViT-B-32'" in result["detail"]
    assert "laion2b_s34b_b79k" in result["detail"]
    assert str(tmp_path / "hf" / "hub") in result["detail"]
    assert "ASSETLENS_CLIP_CHECKPOINT" in result["detail"]


def test_pretrained_tag_missing_from_a_non_empty_cache_names_its_repo(tmp_path: Path) -> None:
    unrelated = tmp_path / "hf" / "hub" / "models--someone--other" / "snapshots" / "abc123"
    unrelated.mkdir(parents=True)
    (unrelated / "open_clip_model.safetensors").write_bytes(b"\0" * 16)
    result = run_python(
        """
        import json
        from assetlens.config import Settings
        from embeddings.open_clip_embedder import OpenClipEmbedder
        embedder = OpenClipEmbedder(Settings(clip_model="ViT-B-32",
                                             clip_pretrained="laion2b_s34b_b79k"))
        print(json.dumps([embedder.available(), embedder.unavailable_reason()]))
        """,
        tmp_path,
    )
    available, reason = result
    assert available is False
    assert "laion/CLIP-ViT-B-32-laion2B-s34B-b79K" in reason
    assert "hf download" in reason


def _fake_hub_cache(hub: Path, repo: str, files: dict[str, bytes]) -> None:
    """Lay files out the way huggingface_hub caches a downloaded repo."""
    folder = hub / f"models--{repo.replace('/', '--')}"
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = folder / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text(commit)
    for name, data in files.items():
        (snapshot / name).write_bytes(data)


def test_hf_hub_model_loads_from_the_local_cache(tmp_path: Path) -> None:
    _, checkpoint, _ = make_tiny_clip(tmp_path / "made")
    _fake_hub_cache(
        tmp_path / "hf" / "hub",
        "assetlens/tiny-clip",
        {
            "open_clip_config.json": json.dumps({"model_cfg": TINY_MODEL_CONFIG}).encode(),
            "open_clip_pytorch_model.bin": checkpoint.read_bytes(),
        },
    )
    result = run_python(
        f"""
        import json
        from pathlib import Path
        from assetlens.config import Settings
        from embeddings.open_clip_embedder import OpenClipEmbedder
        from tests.support.tiny_clip import tiny_clip_settings
        hub = OpenClipEmbedder(Settings(clip_model="hf-hub:assetlens/tiny-clip"))
        direct = OpenClipEmbedder(tiny_clip_settings(Path({str(tmp_path / "direct")!r})))
        texts = ["a lighthouse at dusk", "neon city"]
        print(json.dumps({{"available": hub.available(), "reason": hub.unavailable_reason(),
                          "model_id": hub.model_id,
                          "hub": hub.embed_texts(texts), "direct": direct.embed_texts(texts)}}))
        """,
        tmp_path,
    )
    assert result["available"] is True, result["reason"]
    assert result["model_id"] == "hf-hub:assetlens/tiny-clip"
    np.testing.assert_allclose(np.asarray(result["hub"]), np.asarray(result["direct"]), atol=1e-6)


def test_hf_hub_model_missing_from_the_cache_is_unavailable(tmp_path: Path) -> None:
    result = run_python(
        """
        import json, sys
        from assetlens.config import Settings
        from embeddings.open_clip_embedder import OpenClipEmbedder
        embedder = OpenClipEmbedder(Settings(clip_model="hf-hub:assetlens/absent"))
        print(json.dumps([embedder.available(), embedder.unavailable_reason(),
                          "torch" in sys.modules]))
        """,
        tmp_path,
    )
    available, reason, torch_imported = result
    assert available is False
    assert torch_imported is False
    assert "hf download assetlens/absent" in reason
