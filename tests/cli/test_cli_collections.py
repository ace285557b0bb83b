"""`assetlens collections …` and `assetlens assets …`, in process (typer's CliRunner), on an
embedded-mode library seeded through the services."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner, Result

from assetlens.bootstrap import build
from assetlens.cli import app
from assetlens.ingest import ingest_files
from tests.conftest import make_settings

runner = CliRunner()
ENV = {"HF_HUB_OFFLINE": "1", "ASSETLENS_CLIP_ENABLED": "false"}


class Cli:
    """The `assetlens` command bound to one data dir."""

    def __init__(self, data: Path) -> None:
        self.data = data

    def __call__(self, *args: str) -> Result:
        return runner.invoke(app, [*args, "--data-dir", str(self.data)], env=ENV)

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
        return result

    def last_line(self, *args: str) -> str:
        return self.ok(*args).stdout.strip().splitlines()[-1]

    def table(self, *args: str) -> list[list[str]]:
        """The rows of a tab-separated listing, less its header."""
        return [line.split("\t") for line in self.ok(*args).stdout.splitlines()[1:]]


def flat(text: str) -> str:
    """Rich wraps long lines; compare messages with their whitespace collapsed."""
    return " ".join(text.split())


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[Cli, dict[str, str]]:
    """Three images in workspace `studio` (name → id) and one in `guest`, indexed."""
    source = tmp_path / "in"
    source.mkdir()
    files = []
    for name, colour in [
        ("red", (200, 10, 10)),
        ("green", (10, 200, 10)),
        ("blue", (10, 10, 200)),
        ("guest", (90, 90, 90)),
    ]:
        Image.new("RGB", (16, 16), colour).save(source / f"{name}.png")
        files.append(source / f"{name}.png")
    data = tmp_path / "data"
    container = build(make_settings(data), use_embedder=False)
    try:
        container.index.ensure()
        studio = ingest_files(container.assets, "studio", files[:3], tags=["batch"])
        ingest_files(container.assets, "guest", files[3:])
        container.indexer.drain()
    finally:
        container.close()
    return Cli(data), {a.name.removesuffix(".png"): a.id for a in studio.created}


def test_collections_create_add_list_and_rm(seeded: tuple[Cli, dict[str, str]]) -> None:
    cli, ids = seeded
    made = cli.ok(
        "collections", "create", "Picks", "--description", "the best", "--workspace", "studio"
    )
    collection = made.stdout.strip().splitlines()[-1]
    assert len(collection) == 32
    cli.ok("collections", "add", collection, ids["red"], ids["blue"], "--workspace", "studio")
    cli.ok(
        "collections", "add", collection, ids["green"], "--position", "0", "--workspace", "studio"
    )
    assert [
        row[1] for row in cli.table("collections", "items", collection, "--workspace", "studio")
    ] == [ids["green"], ids["red"], ids["blue"]]
    assert cli.table("collections", "list", "--workspace", "studio") == [
        [collection, "Picks", "owner", "studio", "3", "-"]
    ]
    removed = cli.ok("collections", "remove", collection, ids["red"], "--workspace", "studio")
    assert "holds 2 item(s)" in flat(removed.stderr)
    cli.ok("collections", "rm", collection, "--workspace", "studio")
    assert cli.table("collections", "list", "--workspace", "studio") == []
    container = build(make_settings(cli.data), use_embedder=False)
    assert container.assets.get("studio", ids["red"]).id == ids["red"]  # the assets stay
    container.close()


def test_collections_errors_end_with_the_problem_detail(seeded: tuple[Cli, dict[str, str]]) -> None:
    cli, ids = seeded
    unknown = cli("collections", "rm", "0" * 32, "--workspace", "studio")
    assert unknown.exit_code == 1
    assert "collection not found" in flat(unknown.stderr) and unknown.stdout == ""
    collection = cli.last_line("collections", "create", "Picks", "--workspace", "studio")
    missing = cli("collections", "add", collection, "f" * 32, "--workspace", "studio")
    assert missing.exit_code == 1
    assert "name no asset you can add" in flat(missing.stderr)
    not_held = cli("collections", "remove", collection, ids["red"], "--workspace", "studio")
    assert not_held.exit_code == 1 and "holds no such asset" in flat(not_held.stderr)
    to_self = cli(
        "collections", "share", collection, "studio", "--role", "view", "--workspace", "studio"
    )
    assert to_self.exit_code == 1 and "cannot be shared with its owner" in flat(to_self.stderr)
    empty = cli("collections", "create", "  ", "--workspace", "studio")
    assert empty.exit_code == 1 and "name is empty" in flat(empty.stderr)


def test_the_role_decides_across_workspaces(seeded: tuple[Cli, dict[str, str]]) -> None:
    cli, ids = seeded
    collection = cli.last_line("collections", "create", "Shared", "--workspace", "studio")
    cli.ok("collections", "add", collection, ids["red"], ids["green"], "--workspace", "studio")
    # Before any share, the collection does not exist for guest.
    hidden = cli("collections", "items", collection, "--workspace", "guest")
    assert hidden.exit_code == 1 and "collection not found" in flat(hidden.stderr)

    cli.ok("collections", "share", collection, "guest", "--role", "view", "--workspace", "studio")
    assert cli.table("collections", "list", "--workspace", "studio")[0][5] == "guest:view"
    assert cli.table("collections", "list", "--workspace", "guest") == [
        [collection, "Shared", "view", "studio", "2", "-"]
    ]
    assert len(cli.table("collections", "items", collection, "--workspace", "guest")) == 2
    viewer = cli("collections", "remove", collection, ids["red"], "--workspace", "guest")
    assert viewer.exit_code == 1 and "needs the edit role" in flat(viewer.stderr)
    viewer_add = cli("collections", "add", collection, ids["blue"], "--workspace", "guest")
    assert viewer_add.exit_code == 1 and "needs the edit role" in flat(viewer_add.stderr)

    cli.ok("collections", "share", collection, "guest", "--role", "edit", "--workspace", "studio")
    cli.ok("collections", "remove", collection, ids["red"], "--workspace", "guest")
    # An editor adds only what the owner already shares with it (red is shared no more).
    for unshared in (ids["red"], ids["blue"]):
        refused = cli("collections", "add", collection, unshared, "--workspace", "guest")
        assert refused.exit_code == 1 and "name no asset you can add" in flat(refused.stderr)
    more = cli.last_line("collections", "create", "More", "--workspace", "studio")
    cli.ok("collections", "add", more, ids["blue"], "--workspace", "studio")
    cli.ok("collections", "share", more, "guest", "--role", "view", "--workspace", "studio")
    cli.ok("collections", "add", collection, ids["blue"], "--workspace", "guest")
    assert [
        row[1] for row in cli.table("collections", "items", collection, "--workspace", "studio")
    ] == [ids["green"], ids["blue"]]
    for owner_only in (
        ("share", collection, "other", "--role", "view"),
        ("unshare", collection, "guest"),
        ("rm", collection),
    ):
        refused = cli("collections", *owner_only, "--workspace", "guest")
        assert refused.exit_code == 1 and "needs the owner role" in flat(refused.stderr)

    cli.ok("collections", "unshare", collection, "guest", "--workspace", "studio")
    gone = cli("collections", "items", collection, "--workspace", "guest")
    assert gone.exit_code == 1 and "collection not found" in flat(gone.stderr)
    assert [row[1] for row in cli.table("collections", "list", "--workspace", "guest")] == ["More"]
    again = cli("collections", "unshare", collection, "guest", "--workspace", "studio")
    assert again.exit_code == 1 and "not shared with that workspace" in flat(again.stderr)


def test_assets_list_filters_and_pages(seeded: tuple[Cli, dict[str, str]]) -> None:
    cli, ids = seeded
    rows = cli.table("assets", "list", "--workspace", "studio")
    assert {row[0] for row in rows} == set(ids.values())
    assert all(row[1] == "image" and row[5] == "batch" and row[4] == "no" for row in rows)
    assert [
        row[2]
        for row in cli.table(
            "assets", "list", "--sort", "name", "--limit", "2", "--workspace", "studio"
        )
    ] == ["blue.png", "green.png"]
    assert cli.table("assets", "list", "--type", "video", "--workspace", "studio") == []
    assert cli.table("assets", "list", "--tag", "nope", "--workspace", "studio") == []
    assert len(cli.table("assets", "list", "--workspace", "guest")) == 1
    bad = cli("assets", "list", "--sort", "colour", "--workspace", "studio")
    assert bad.exit_code == 1 and "unknown sort field" in flat(bad.stderr)


def test_assets_favorite_and_unfavorite(seeded: tuple[Cli, dict[str, str]]) -> None:
    cli, ids = seeded
    assert "starred" in cli.ok("assets", "favorite", ids["red"], "--workspace", "studio").stderr
    again = cli.ok("assets", "favorite", ids["red"], "--workspace", "studio")
    assert "already starred" in flat(again.stderr)
    starred = cli.table("assets", "list", "--favorite", "--workspace", "studio")
    assert [(row[0], row[4]) for row in starred] == [(ids["red"], "yes")]
    cli.ok("assets", "unfavorite", ids["red"], "--workspace", "studio")
    assert cli.table("assets", "list", "--favorite", "--workspace", "studio") == []
    other = cli("assets", "favorite", ids["red"], "--workspace", "guest")
    assert other.exit_code == 1 and "not found" in flat(other.stderr).lower()


def test_assets_bulk_by_ids_and_by_query(seeded: tuple[Cli, dict[str, str]]) -> None:
    cli, ids = seeded
    tagged = cli.ok(
        "assets",
        "bulk",
        "tag",
        "--ids",
        f"{ids['red']},{ids['green']}",
        "--tags",
        "Winter, best of",
        "--workspace",
        "studio",
    )
    assert tagged.stdout.strip() == "matched 2, succeeded 2, failed 0"
    assert {
        row[0] for row in cli.table("assets", "list", "--tag", "winter", "--workspace", "studio")
    } == {ids["red"], ids["green"]}

    folder = cli.last_line("folders", "create", "Keep", "--workspace", "studio")
    moved = cli.ok(
        "assets", "bulk", "move", "--tag", "best of", "--folder", folder, "--workspace", "studio"
    )
    assert moved.stdout.strip() == "matched 2, succeeded 2, failed 0"
    assert len(cli.table("assets", "list", "--folder", folder, "--workspace", "studio")) == 2
    cli.ok("assets", "bulk", "move", "--ids", ids["red"], "--root", "--workspace", "studio")
    assert len(cli.table("assets", "list", "--folder", folder, "--workspace", "studio")) == 1

    cli.ok("assets", "bulk", "favorite", "--query", "blue", "--workspace", "studio")
    assert [
        row[0] for row in cli.table("assets", "list", "--favorite", "--workspace", "studio")
    ] == [ids["blue"]]

    partial = cli(
        "assets", "bulk", "delete", "--ids", ids["blue"], "--ids", "f" * 32, "--workspace", "studio"
    )
    assert partial.exit_code == 1
    assert partial.stdout.strip() == "matched 2, succeeded 1, failed 1"
    assert f"failed {'f' * 32}: 404 Not found" in flat(partial.stderr)
    assert ids["blue"] not in {
        row[0] for row in cli.table("assets", "list", "--workspace", "studio")
    }


def test_assets_bulk_refuses_a_malformed_request(seeded: tuple[Cli, dict[str, str]]) -> None:
    cli, ids = seeded
    for args, message in [
        (("tag", "--ids", ids["red"]), "`tag` needs `tags`"),
        (("favorite",), "exactly one of `ids` and `query`"),
        (("favorite", "--ids", ids["red"], "--query", "red"), "exactly one of"),
        (("move", "--ids", ids["red"]), "`move` needs `folder_id`"),
        (("move", "--ids", ids["red"], "--folder", "f" * 32), "names no folder"),
        (("move", "--ids", ids["red"], "--folder", "x", "--root"), "not both"),
    ]:
        result = cli("assets", "bulk", *args, "--workspace", "studio")
        assert result.exit_code == 1, args
        assert message in flat(result.stderr), (args, result.stderr)
        assert result.stdout == ""
