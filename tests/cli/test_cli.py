"""The `assetlens` console script, run as a user would (a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from assetlens.bootstrap import build
from assetlens.filters import Facet
from assetlens.query import SearchQuery
from tests.conftest import make_settings


def run(
    data_dir: Path, *args: str, timeout: float = 240, **env_vars: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ASSETLENS_DATA_DIR": str(data_dir),
        "HF_HUB_OFFLINE": "1",
        "ASSETLENS_CLIP_ENABLED": "false",
        **env_vars,
    }
    return subprocess.run(
        [sys.executable, "-m", "assetlens", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def search(data_dir: Path, text: str | None, **kwargs: object) -> list[str]:
    container = build(make_settings(data_dir), use_embedder=False)
    try:
        page = container.index.search(SearchQuery(workspace="studio", text=text, **kwargs))
        return [hit.asset.name for hit in page.hits]
    finally:
        container.close()


def test_keys_create_prints_the_key_last(tmp_path: Path) -> None:
    result = run(tmp_path, "keys", "create", "--workspace", "studio")
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("alk_") and len(key) > 40
    container = build(make_settings(tmp_path), use_embedder=False)
    assert container.keys.workspace_for(key) == "studio"
    bad = run(tmp_path, "keys", "create", "--workspace", "Bad Name!")
    assert bad.returncode != 0


def test_ingest_reads_files_sidecars_and_embedded_provenance(tmp_path: Path) -> None:
    source = tmp_path / "renders"
    source.mkdir()
    info = PngInfo()
    info.add_text(
        "parameters",
        "a brass owl automaton\nSteps: 20, Sampler: Euler a, "
        "CFG scale: 7, Seed: 5, Model: dreamshaper",
    )
    Image.new("RGB", (40, 40), (180, 140, 40)).save(source / "owl.png", pnginfo=info)
    Image.new("RGB", (40, 40), (10, 80, 140)).save(source / "whale.png")
    (source / "whale.txt").write_text(
        "a whale made of stained glass\nSteps: 12, "
        "Sampler: DDIM, CFG scale: 5, Seed: 9, Model: flux"
    )
    (source / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    data = tmp_path / "data"
    result = run(data, "ingest", str(source), "--workspace", "studio", "--tag", "batch1")
    assert result.returncode == 0, result.stderr
    assert "2 imported, 1 refused, 0 skipped" in result.stderr
    assert search(data, "owl") == ["owl.png"]
    assert search(data, "stained glass") == ["whale.png"]  # from the sidecar
    container = build(make_settings(data), use_embedder=False)
    page = container.index.search(SearchQuery(workspace="studio", facets=[Facet.MODEL, Facet.TAGS]))
    models = {b.value for b in page.facets["model"]}
    assert models == {"dreamshaper", "flux"}
    assert page.facets["tags"][0].value == "batch1"
    container.close()


def count_assets(data_dir: Path, workspace: str) -> int:
    """Assets of `workspace` in the store (the source of truth), whatever the index says."""
    container = build(make_settings(data_dir), use_embedder=False)
    try:
        return sum(1 for _ in container.assets.manifests.iter_keys(workspace))
    finally:
        container.close()


def test_ingest_skips_files_the_workspace_already_has(tmp_path: Path) -> None:
    source = tmp_path / "renders"
    source.mkdir()
    for n, colour in enumerate([(200, 10, 10), (10, 200, 10), (10, 10, 200)]):
        Image.new("RGB", (24, 24), colour).save(source / f"tile{n}.png")
    (source / "copy-of-tile0.png").write_bytes((source / "tile0.png").read_bytes())
    data = tmp_path / "data"
    first = run(data, "ingest", str(source), "--workspace", "studio")
    assert first.returncode == 0, first.stderr
    assert "3 imported, 0 refused, 1 skipped" in first.stderr  # the copy within the run
    again = run(data, "ingest", str(source), "--workspace", "studio")
    assert again.returncode == 0, again.stderr
    assert "0 imported, 0 refused, 4 skipped" in again.stderr
    assert count_assets(data, "studio") == 3
    elsewhere = run(data, "ingest", str(source / "tile1.png"), "--workspace", "other")
    assert "1 imported" in elsewhere.stderr  # duplicates are per workspace
    forced = run(
        data, "ingest", str(source / "tile1.png"), "--workspace", "studio", "--allow-duplicates"
    )
    assert "1 imported, 0 refused, 0 skipped" in forced.stderr
    assert count_assets(data, "studio") == 4
    assert search(data, "tile1") == ["tile1.png", "tile1.png"]


def test_reindex_rebuilds_the_index_from_the_store(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(source / "pebble.png")
    data = tmp_path / "data"
    assert run(data, "ingest", str(source), "--workspace", "studio").returncode == 0
    for path in (data / "index").glob("*"):
        if path.is_file():
            path.unlink()  # the index is derived: losing it loses nothing
    result = run(data, "reindex")
    assert result.returncode == 0, result.stderr
    assert "reindexed 1 assets" in result.stderr
    assert search(data, "pebble") == ["pebble.png"]


def test_demo_makes_samples_and_ingests_them(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = run(data, "demo", "--no-serve")
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("alk_")
    assert "Visual search: unavailable" in result.stderr
    container = build(make_settings(data), use_embedder=False)
    try:
        page = container.index.search(
            SearchQuery(workspace="demo", text="fox", facets=[Facet.MODEL])
        )
        assert [h.asset.name for h in page.hits] == ["00-animal.png"]
        assert page.hits[0].asset.generation.model == "sdxl-base-1.0"
        cjk = container.index.search(SearchQuery(workspace="demo", text="寺院"))
        assert cjk.total == 1
        everything = container.index.search(SearchQuery(workspace="demo", limit=100))
        assert everything.total >= 12
        assert all(h.asset.status == "ready" for h in everything.hits)
    finally:
        container.close()


def test_demo_twice_keeps_one_library_and_one_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = run(data, "demo", "--no-serve")
    assert first.returncode == 0, first.stderr
    count = count_assets(data, "demo")
    assert count == 13
    second = run(data, "demo", "--no-serve", COLUMNS="40")  # a narrow terminal
    assert second.returncode == 0, second.stderr
    assert "0 imported, 13 already there" in second.stderr
    assert f"Library: data dir {data}" in second.stderr
    # The curl line is one line however narrow the terminal: it pastes as one command.
    (curl,) = [line for line in second.stderr.splitlines() if "curl" in line]
    assert curl.startswith("Try: curl -s -H 'Authorization: Bearer alk_")
    assert curl.endswith("/v1/search")
    assert count_assets(data, "demo") == count
    key = second.stdout.strip().splitlines()[-1]
    assert key == first.stdout.strip().splitlines()[-1]
    container = build(make_settings(data), use_embedder=False)
    try:
        assert container.keys.identify(key).workspace == "demo"
    finally:
        container.close()
    assert (data / "demo-key").stat().st_mode & 0o077 == 0  # readable by its owner only
