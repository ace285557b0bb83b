"""`assetlens ingest` under the workspace's duplicate policy and --duplicates."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from assetlens.bootstrap import build
from assetlens.services.duplicate_policy import DuplicatePolicy, PolicyName
from tests.cli.test_cli import count_assets, run
from tests.conftest import make_settings


def test_ingest_applies_the_workspace_policy_unless_overridden(tmp_path: Path) -> None:
    source = tmp_path / "renders"
    source.mkdir()
    Image.new("RGB", (24, 24), (200, 10, 10)).save(source / "tile.png")
    data = tmp_path / "data"
    assert run(data, "ingest", str(source), "--workspace", "studio").returncode == 0
    container = build(make_settings(data), use_embedder=False)
    container.duplicate_policy.put("studio", DuplicatePolicy(policy=PolicyName.REJECT))
    container.close()
    rejected = run(data, "ingest", str(source), "--workspace", "studio", "--no-index")
    assert rejected.returncode == 1, rejected.stderr
    assert (
        "0 imported, 0 refused, 0 skipped (already in the workspace), 1 rejected" in rejected.stderr
    )
    linked = run(
        data, "ingest", str(source), "--workspace", "studio", "--no-index", "--duplicates", "link"
    )
    assert linked.returncode == 0, linked.stderr
    assert "0 imported, 0 refused, 1 skipped" in linked.stderr
    assert count_assets(data, "studio") == 1
    allowed = run(
        data, "ingest", str(source), "--workspace", "studio", "--no-index", "--duplicates", "allow"
    )
    assert "1 imported" in allowed.stderr
    assert count_assets(data, "studio") == 2
    bad = run(data, "ingest", str(source), "--workspace", "studio", "--duplicates", "merge")
    assert bad.returncode == 2
