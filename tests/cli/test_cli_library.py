"""`assetlens folders …` and `assetlens tags …`, run as a user would (a subprocess)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from assetlens.bootstrap import build
from tests.cli.test_cli import run
from tests.conftest import make_settings


def ingest(tmp_path: Path, data: Path, *tags: str) -> None:
    source = tmp_path / "in"
    source.mkdir()
    for i, colour in enumerate([(200, 10, 10), (10, 200, 10), (10, 10, 200)]):
        Image.new("RGB", (16, 16), colour).save(source / f"img{i}.png")
    args = [arg for tag in tags for arg in ("--tag", tag)]
    result = run(data, "ingest", str(source), "--workspace", "studio", *args)
    assert result.returncode == 0, result.stderr


def test_folders_create_list_and_rm(tmp_path: Path) -> None:
    data = tmp_path / "data"
    made = run(data, "folders", "create", "Renders", "--workspace", "studio")
    assert made.returncode == 0, made.stderr
    top = made.stdout.strip().splitlines()[-1]
    assert len(top) == 32
    child = run(data, "folders", "create", "Final", "--parent", top, "--workspace", "studio")
    assert child.returncode == 0, child.stderr
    child_id = child.stdout.strip().splitlines()[-1]
    clash = run(data, "folders", "create", "RENDERS", "--workspace", "studio")
    assert clash.returncode == 1 and "already exists" in clash.stderr
    listed = run(data, "folders", "list", "--workspace", "studio")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].startswith(f"Renders\t{top}\t0 assets")
    assert lines[1].startswith(f"  Final\t{child_id}")
    assert run(data, "folders", "list", "--workspace", "other").stdout == ""
    refused = run(data, "folders", "rm", top, "--workspace", "studio")
    assert refused.returncode == 1 and "subfolders" in refused.stderr
    forced = run(data, "folders", "rm", top, "--force", "--workspace", "studio")
    assert forced.returncode == 0, forced.stderr
    assert "deleted 2 folders" in forced.stderr
    container = build(make_settings(data), use_embedder=False)
    assert container.folders.list_folders("studio") == []
    container.close()


def test_tags_list_rename_and_rm(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ingest(tmp_path, data, "Batch-1", "ｓｅａ")
    listed = run(data, "tags", "list", "--workspace", "studio")
    assert listed.returncode == 0, listed.stderr
    assert sorted(listed.stdout.splitlines()) == ["batch-1\t3", "sea\t3"]
    renamed = run(data, "tags", "rename", "SEA", "batch-1", "--workspace", "studio")
    assert renamed.returncode == 0, renamed.stderr
    assert "renamed on 3 assets" in renamed.stderr
    assert run(data, "tags", "list", "--workspace", "studio").stdout.splitlines() == ["batch-1\t3"]
    removed = run(data, "tags", "rm", "Batch-1", "--workspace", "studio")
    assert removed.returncode == 0 and "removed from 3 assets" in removed.stderr
    missing = run(data, "tags", "rm", "batch-1", "--workspace", "studio")
    assert missing.returncode == 1 and "no asset has this tag" in missing.stderr
    container = build(make_settings(data), use_embedder=False)
    assert all(asset.tags == [] for asset in container.assets.manifests.iter_all("studio"))
    container.close()
