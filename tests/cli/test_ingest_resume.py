"""`assetlens ingest` interrupted by Ctrl-C (SIGINT) midway, then run again: every file ends
up imported and indexed exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from assetlens.bootstrap import build
from assetlens.domain import AssetStatus
from tests.cli.test_cli import run
from tests.conftest import make_settings

FILES = 80


def _renders(directory: Path) -> None:
    directory.mkdir()
    rng = np.random.default_rng(5)
    for n in range(FILES):
        pixels = rng.integers(0, 256, (160, 160, 3), dtype=np.uint8)
        Image.fromarray(pixels, "RGB").save(directory / f"render-{n:03d}.png")


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _manifests(data: Path) -> int:
    folder = data / "store" / "objects" / "manifests" / "studio"
    return sum(1 for _ in folder.glob("*.json")) if folder.is_dir() else 0


def test_ingest_resumes_after_ctrl_c_without_importing_twice(tmp_path: Path) -> None:
    source = tmp_path / "renders"
    _renders(source)
    data = tmp_path / "data"
    env = {
        **os.environ,
        "ASSETLENS_DATA_DIR": str(data),
        "HF_HUB_OFFLINE": "1",
        "ASSETLENS_CLIP_ENABLED": "false",
        "ASSETLENS_INDEXER_WORKERS": "2",
    }
    # A test runner started in the background hands down SIGINT ignored; a terminal's
    # Ctrl-C reaches a process that has Python's default handler.
    first = subprocess.Popen(
        [sys.executable, "-m", "assetlens", "ingest", str(source), "--workspace", "studio"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )
    deadline = time.monotonic() + 180
    while _manifests(data) < 10 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGINT)
    _, stderr = first.communicate(timeout=180)
    assert first.returncode == 130, stderr  # stopped midway, not finished
    assert "run the same command again to resume" in stderr
    assert 10 <= _manifests(data) < FILES

    second = run(
        data, "ingest", str(source), "--workspace", "studio", ASSETLENS_INDEXER_WORKERS="2"
    )
    assert second.returncode == 0, second.stderr
    assert f"{FILES} imported" not in second.stderr  # the first run's files were skipped

    container = build(make_settings(data), use_embedder=False)
    try:
        assets = list(container.assets.manifests.iter_all())
        assert len(assets) == FILES
        assert len({asset.sha256 for asset in assets}) == FILES
        assert {asset.name for asset in assets} == {p.name for p in source.iterdir()}
        assert all(asset.status is AssetStatus.READY for asset in assets)
        assert container.queue.pending() == 0
        indexed = [(workspace, asset_id) for workspace, asset_id, _ in container.index.revisions()]
        assert sorted(indexed) == sorted(("studio", asset.id) for asset in assets)
    finally:
        container.close()
