"""`assetlens keys create|list|revoke`, run as a user would (a subprocess)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetlens.access import Scope
from assetlens.bootstrap import build
from assetlens.errors import Unauthorized
from tests.cli.test_cli import run
from tests.conftest import make_settings


def rows(output: str) -> dict[str, list[str]]:
    """`keys list` output: id → the other columns."""
    lines = output.strip().splitlines()
    assert lines[0].split("\t") == ["id", "name", "scopes", "created_at", "hint", "revoked_at"]
    return {cols[0]: cols[1:] for cols in (line.split("\t") for line in lines[1:])}


def test_keys_create_with_a_scope_then_list_and_revoke(tmp_path: Path) -> None:
    created = run(
        tmp_path, "keys", "create", "--workspace", "studio", "--name", "ci", "--scope", "read"
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert str(tmp_path.resolve()) in created.stderr.replace("\n", "")  # which library
    keys = build(make_settings(tmp_path), use_embedder=False).keys
    caller = keys.identify(key)
    assert caller.scopes == frozenset({Scope.READ})
    run(tmp_path, "keys", "create", "--workspace", "other")
    listed = run(tmp_path, "keys", "list", "--workspace", "studio")
    assert listed.returncode == 0, listed.stderr
    table = rows(listed.stdout)
    assert list(table) == [caller.key_id]
    assert table[caller.key_id][:2] == ["ci", "read"]
    assert table[caller.key_id][-1] == "-"
    assert key not in listed.stdout
    revoked = run(tmp_path, "keys", "revoke", caller.key_id, "--workspace", "studio")
    assert revoked.returncode == 0, revoked.stderr
    with pytest.raises(Unauthorized, match="revoked"):
        keys.identify(key)
    after = rows(run(tmp_path, "keys", "list", "--workspace", "studio").stdout)
    assert after[caller.key_id][-1] != "-"


def test_keys_revoke_refuses_unknown_and_foreign_ids(tmp_path: Path) -> None:
    key = run(tmp_path, "keys", "create", "--workspace", "studio").stdout.strip().splitlines()[-1]
    key_id = build(make_settings(tmp_path), use_embedder=False).keys.identify(key).key_id
    for args in (
        (key_id, "--workspace", "other"),
        ("0" * 16, "--workspace", "studio"),
        ("../x", "--workspace", "studio"),
    ):
        result = run(tmp_path, "keys", "revoke", *args)
        assert result.returncode == 1, args
        assert "no key" in result.stderr
    assert build(make_settings(tmp_path), use_embedder=False).keys.identify(key).key_id == key_id
    bad = run(tmp_path, "keys", "list", "--workspace", "Bad Name!")
    assert bad.returncode == 2
    assert "workspace names" in bad.stderr
