"""A first run as the README tells it: `--version`, help without Python type labels, and
the library's absolute data directory printed by the commands that open it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from assetlens import __version__
from assetlens.cli import app
from assetlens.cli_help import readable_command

ROOT = Path(__file__).resolve().parents[2]
# typer's own labels: `<list[Path]>`, `<str>`, `<bool>`, `<allow|link|reject>`.
TYPE_LABEL = re.compile(r"<[a-z][\w|\[\], .-]*>")


def assetlens(*args: str, cwd: Path, **env_vars: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, in `cwd`, with no ASSETLENS_DATA_DIR unless given."""
    env = {k: v for k, v in os.environ.items() if k != "ASSETLENS_DATA_DIR"}
    env.update(
        {
            "HF_HUB_OFFLINE": "1",
            "ASSETLENS_CLIP_ENABLED": "false",
            "PYTHONPATH": str(ROOT),
            **env_vars,
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "assetlens", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def every_command(command: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, sub in getattr(command, "commands", {}).items():
        found += every_command(sub, (*path, name))
    return found


def test_version_is_the_package_version(tmp_path: Path) -> None:
    result = assetlens("--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert result.stdout.strip() == f"assetlens {declared}" == f"assetlens {__version__}"
    assert assetlens("-V", cwd=tmp_path).stdout == result.stdout


def test_help_shows_no_python_type_labels(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # one row per option: labels are never split
    command = readable_command(app)
    paths = every_command(command)
    assert ("ingest",) in paths and ("keys", "create") in paths
    for path in paths:
        with pytest.raises(SystemExit) as exit_info:
            command.main([*path, "--help"], prog_name="assetlens")
        assert exit_info.value.code == 0
        shown = capsys.readouterr().out
        assert f"Usage: assetlens {' '.join(path)}".rstrip() in shown, path
        assert not TYPE_LABEL.findall(shown), (path, TYPE_LABEL.findall(shown))
    command.main(["ingest", "--help"], prog_name="assetlens", standalone_mode=False)
    ingest = capsys.readouterr().out
    assert "{PATH...}" in ingest and "allow|link|reject" in ingest


def test_help_lists_commands_in_whole_sentences_and_marks_repeating_arguments(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command list shows each command's first paragraph: its docstring's own line breaks
    must not cut it mid-sentence; an argument that takes many values says so in the usage."""
    monkeypatch.setenv("COLUMNS", "200")  # wide enough that rich never wraps a row itself
    command = readable_command(app)

    def shown(*path: str) -> str:
        with pytest.raises(SystemExit):
            command.main([*path, "--help"], prog_name="assetlens")
        return capsys.readouterr().out

    assert "under the workspace's duplicate policy" in shown()
    assert "exits 1 when any did." in shown("assets")
    assert "again to change the role." in shown("collections")
    assert "{COLLECTION-ID} {ASSET-ID...}" in shown("collections", "add")
    assert "{ASSET-ID}" in shown("assets", "favorite")  # one value: no dots


def test_keys_create_names_the_absolute_data_dir(tmp_path: Path) -> None:
    """`./data` follows the current directory: the output says which library a key is for,
    so a key made in another folder is easy to spot."""
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()
    first = assetlens("keys", "create", "--workspace", "studio", cwd=here)
    assert first.returncode == 0, first.stderr
    assert f"data dir {here / 'data'}" in first.stderr
    assert first.stdout.strip().startswith("alk_")
    second = assetlens("keys", "list", "--workspace", "studio", cwd=elsewhere)
    assert f"0 key(s) in workspace studio (data dir {elsewhere / 'data'})" in second.stderr
    home = assetlens(
        "keys",
        "create",
        "--workspace",
        "studio",
        cwd=elsewhere,
        ASSETLENS_DATA_DIR="~/lib",
        HOME=str(tmp_path),
    )
    assert f"data dir {tmp_path / 'lib'}" in home.stderr  # `~` expanded, even from .env


def test_ingest_prints_the_library_it_imports_into(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("# a prompt\n\nthe first run")
    result = assetlens("ingest", "notes.md", "--data-dir", "lib", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"Library: data dir {tmp_path / 'lib'}" in result.stderr
    assert "1 imported" in result.stderr


def test_every_command_that_opens_the_library_names_it(tmp_path: Path) -> None:
    """The README's promise: whichever command opens a library says which one (on stderr,
    so stdout stays what scripts read), `--data-dir` made absolute."""
    commands = [
        ["reindex"],
        ["reconcile"],
        ["purge"],
        ["gc"],
        ["assets", "list"],
        ["folders", "list"],
        ["tags", "list"],
        ["collections", "list"],
    ]
    for command in commands:
        result = assetlens(*command, "--data-dir", "lib", cwd=tmp_path)
        assert result.returncode == 0, (command, result.stderr)
        assert f"Library: data dir {tmp_path / 'lib'}" in result.stderr, (command, result.stderr)
        assert "Library:" not in result.stdout, command
