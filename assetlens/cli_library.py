"""`assetlens folders …` and `assetlens tags …`: the library's folders and tags from the
command line, through the same services as the API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from assetlens.cli_base import library_settings, refusal, refuse_invalid, where
from assetlens.errors import AssetlensError
from assetlens.layout import check_workspace

if TYPE_CHECKING:  # the services load only when a command runs, so `--help` stays fast
    from assetlens.bootstrap import Container

folders_app = typer.Typer(help="Manage folders.", no_args_is_help=True)
tags_app = typer.Typer(help="Manage tags.", no_args_is_help=True)
# No wrapping: a message or an id stays one line (cli_base's console does the same).
console = Console(stderr=True, soft_wrap=True)

T = TypeVar("T")
Workspace = Annotated[str, typer.Option(help="the workspace")]
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="overrides ASSETLENS_DATA_DIR")]
IndexNow = Annotated[bool, typer.Option(help="re-index changed assets now (in this process)")]


@contextmanager
def _library(data_dir: Path | None, workspace: str) -> Iterator[Container]:
    """The wired services; a domain error ends the command with its detail and status 1."""
    from assetlens.bootstrap import build

    refuse_invalid(lambda: check_workspace(workspace))  # a malformed argument: exit 2
    try:
        settings = library_settings(data_dir)
        console.print(f"Library: {where(settings)}", markup=False)
        container = build(settings)
        try:
            container.index.ensure()
            yield container
        finally:
            container.close()
    except AssetlensError as exc:
        console.print(f"[red]{exc.title}:[/] {exc.detail}")
        raise typer.Exit(1) from exc
    except ValidationError as exc:
        console.print(f"[red]Invalid input:[/] {refusal(exc)}", highlight=False)
        raise typer.Exit(1) from exc


def _then_index(container: Container, index: bool, run: Callable[[], T]) -> T:
    """Run a change, then (optionally) index what it queued so searches see it at once."""
    result = run()
    if index:
        container.indexer.drain()
    return result


@folders_app.command("list")
def folders_list(workspace: Workspace = "default", data_dir: DataDir = None) -> None:
    """Print the folder tree: one folder a line, indented by depth, with id and count."""
    with _library(data_dir, workspace) as container:
        folders = container.folders.list_folders(workspace)
    for folder in folders:
        count = "?" if folder.asset_count is None else str(folder.asset_count)
        print(f"{'  ' * folder.depth}{folder.name}\t{folder.id}\t{count} assets")
    console.print(f"{len(folders)} folders")


@folders_app.command("create")
def folders_create(
    name: Annotated[str, typer.Argument(help="the folder's name")],
    parent: Annotated[str | None, typer.Option(help="id of the parent folder")] = None,
    workspace: Workspace = "default",
    data_dir: DataDir = None,
) -> None:
    """Create a folder; its id is the last line printed."""
    from assetlens.services.folders import FolderCreate

    with _library(data_dir, workspace) as container:
        folder = container.folders.create(workspace, FolderCreate(name=name, parent_id=parent))
    console.print(f"Created folder [bold]{'/'.join([*folder.path, folder.name])}[/]")
    print(folder.id)


@folders_app.command("rm")
def folders_rm(
    folder_id: Annotated[str, typer.Argument(help="the folder's id")],
    force: Annotated[bool, typer.Option(help="also subfolders; assets go to the trash")] = False,
    workspace: Workspace = "default",
    data_dir: DataDir = None,
    index: IndexNow = True,
) -> None:
    """Delete a folder (a non-empty one only with --force)."""
    with _library(data_dir, workspace) as container:
        done = _then_index(
            container, index, lambda: container.folders.delete(workspace, folder_id, force=force)
        )
    console.print(
        f"deleted {done.deleted_folders} folders, moved {done.trashed_assets} assets to the trash"
    )


@tags_app.command("list")
def tags_list(
    prefix: Annotated[str, typer.Option(help="only tags starting with this")] = "",
    limit: Annotated[int, typer.Option(min=1, max=200)] = 100,
    workspace: Workspace = "default",
    data_dir: DataDir = None,
) -> None:
    """Print the tags in use with their asset counts, most used first."""
    with _library(data_dir, workspace) as container:
        tags = container.tags.list_tags(workspace, prefix=prefix, limit=limit)
    for tag in tags:
        print(f"{tag.name}\t{tag.count}")


@tags_app.command("rename")
def tags_rename(
    old: Annotated[str, typer.Argument(help="the tag to rename")],
    new: Annotated[str, typer.Argument(help="its new name (merged if it exists)")],
    workspace: Workspace = "default",
    data_dir: DataDir = None,
    index: IndexNow = True,
) -> None:
    """Rename a tag on every asset, merging into NEW where an asset has both."""
    with _library(data_dir, workspace) as container:
        changed = _then_index(container, index, lambda: container.tags.rename(workspace, old, new))
    console.print(f"renamed on {changed} assets")


@tags_app.command("rm")
def tags_rm(
    name: Annotated[str, typer.Argument(help="the tag to remove")],
    workspace: Workspace = "default",
    data_dir: DataDir = None,
    index: IndexNow = True,
) -> None:
    """Remove a tag from every asset (the trash included)."""
    with _library(data_dir, workspace) as container:
        changed = _then_index(container, index, lambda: container.tags.delete(workspace, name))
    console.print(f"removed from {changed} assets")
