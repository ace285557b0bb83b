"""scripts/setup.sh from two clones: the shared venv stays with the clone it belongs to, a
second clone gets a venv of its own layered on it, and a venv whose clone is gone is taken
over (`--dry-run` says which, changing nothing)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def clone(path: Path) -> Path:
    """A checkout at `path` with the files setup.sh reads."""
    (path / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "setup.sh", path / "scripts" / "setup.sh")
    shutil.copy(ROOT / "pyproject.toml", path / "pyproject.toml")
    return path


def fake_venv(path: Path, owner: Path | None) -> Path:
    """A venv whose python says its `assetlens` comes from `owner` (None: not installed)."""
    (path / "bin").mkdir(parents=True)
    python = path / "bin" / "python"
    answer = f"echo {owner}" if owner else "exit 1"
    python.write_text(f"#!/bin/sh\n{answer}\n")
    python.chmod(0o755)
    return path


def dry_run(checkout: Path, venv: Path) -> dict[str, str]:
    env = {**os.environ, "ASSETLENS_VENV": str(venv)}
    result = subprocess.run(
        ["bash", str(checkout / "scripts" / "setup.sh"), "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return dict(line.split(": ", 1) for line in result.stdout.strip().splitlines())


def test_a_second_clone_gets_its_own_venv_on_the_shared_one(tmp_path: Path) -> None:
    first, second = clone(tmp_path / "first"), clone(tmp_path / "second")
    shared = fake_venv(tmp_path / "venv", owner=first)
    mine = dry_run(first, shared)
    assert (mine["checkout"], mine["venv"]) == (str(first), str(shared))
    theirs = dry_run(second, shared)
    digest = hashlib.sha256(str(second).encode()).hexdigest()[:12]
    assert theirs["venv"] == f"{shared}-{digest}"
    assert f"belongs to {first}" in theirs["plan"]
    assert dry_run(clone(tmp_path / "third"), shared)["venv"] not in (str(shared), theirs["venv"])


def test_a_venv_whose_clone_is_gone_or_empty_is_used(tmp_path: Path) -> None:
    checkout = clone(tmp_path / "clone")
    gone = dry_run(checkout, fake_venv(tmp_path / "a", owner=tmp_path / "removed"))
    assert gone["venv"] == str(tmp_path / "a")
    assert "taking it over" in gone["plan"]
    empty = dry_run(checkout, fake_venv(tmp_path / "b", owner=None))
    assert empty["venv"] == str(tmp_path / "b")
    missing = dry_run(checkout, tmp_path / "c")
    assert missing["venv"] == str(tmp_path / "c")
    assert "create the shared venv" in missing["plan"]
    assert not (tmp_path / "c").exists()  # a dry run changes nothing


def test_an_unknown_option_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup.sh"), "--frobnicate"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "usage:" in result.stderr
