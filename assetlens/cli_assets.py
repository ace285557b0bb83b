"""`assetlens assets …`: list the library, star assets and run bulk actions from the command
line, through the same services as GET /v1/assets, PATCH {favorite} and
POST /v1/assets/bulk."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from assetlens.cli_library import DataDir, IndexNow, Workspace, _library, _then_index, console
from assetlens.domain import Asset, AssetType, BulkAction

assets_app = typer.Typer(
    help="List assets, star them, and change many at once.", no_args_is_help=True
)


Types = Annotated[
    list[AssetType] | None, typer.Option("--type", help="only this type (repeatable: any of them)")
]
Tags = Annotated[
    list[str] | None,
    typer.Option("--tag", help="only assets with this tag (repeatable: any of them)"),
]


@assets_app.command("list")
def assets_list(
    kind: Types = None,
    tag: Tags = None,
    folder: Annotated[str | None, typer.Option(help="only assets in this folder")] = None,
    favorite: Annotated[bool, typer.Option("--favorite", help="only starred assets")] = False,
    sort: Annotated[
        str | None, typer.Option(help="`created_at:desc` (default), `name`, `-size`…")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="at most this many assets")] = 50,
    workspace: Workspace = "default",
    data_dir: DataDir = None,
) -> None:
    """The library as GET /v1/assets lists it (newest first unless --sort), paged through
    the index: tab-separated, one asset a line (id, type, name, status, favorite, tags,
    folder)."""
    from assetlens.filters import Filters
    from assetlens.query import MAX_LIMIT
    from assetlens.services.search import SearchRequest

    rows: list[Asset] = []
    with _library(data_dir, workspace) as container:
        filters = Filters(
            type=kind or [],
            tags=tag or [],
            folder_id=[folder] if folder else [],
            favorite=True if favorite else None,
        )
        cursor: str | None = None
        total = 0
        while len(rows) < limit:
            page = container.search.search(
                workspace,
                SearchRequest(
                    filters=filters,
                    sort=sort,
                    limit=min(MAX_LIMIT, limit - len(rows)),
                    cursor=cursor,
                ),
            )
            total = page.total
            rows += [hit.asset for hit in page.hits]
            cursor = page.next_cursor
            if cursor is None or not page.hits:
                break
    print("id\ttype\tname\tstatus\tfavorite\ttags\tfolder")
    for asset in rows:
        print(
            "\t".join(
                [
                    asset.id,
                    asset.type.value,
                    asset.name,
                    asset.status.value,
                    "yes" if asset.favorite else "no",
                    ",".join(asset.tags) or "-",
                    asset.folder_id or "-",
                ]
            )
        )
    console.print(f"{len(rows)} of {total} asset(s)")


@assets_app.command("favorite")
def assets_favorite(
    asset_id: Annotated[str, typer.Argument(help="the asset's id")],
    workspace: Workspace = "default",
    data_dir: DataDir = None,
    index: IndexNow = True,
) -> None:
    """Star an asset."""
    _star(asset_id, True, workspace, data_dir, index)


@assets_app.command("unfavorite")
def assets_unfavorite(
    asset_id: Annotated[str, typer.Argument(help="the asset's id")],
    workspace: Workspace = "default",
    data_dir: DataDir = None,
    index: IndexNow = True,
) -> None:
    """Unstar an asset."""
    _star(asset_id, False, workspace, data_dir, index)


def _star(asset_id: str, starred: bool, workspace: str, data_dir: Path | None, index: bool) -> None:
    with _library(data_dir, workspace) as container:
        changed = _then_index(
            container, index, lambda: container.assets.set_favorite(workspace, asset_id, starred)
        )
    state = "starred" if starred else "unstarred"
    console.print(f"{state} {asset_id}" if changed else f"{asset_id} was already {state}")


@assets_app.command("bulk")
def assets_bulk(
    action: Annotated[BulkAction, typer.Argument(help="what to do to each asset")],
    ids: Annotated[
        list[str] | None, typer.Option("--ids", help="asset ids (repeatable, or comma-separated)")
    ] = None,
    query: Annotated[
        str | None,
        typer.Option(help="select by keyword text instead (with --type/--tag: by filters)"),
    ] = None,
    kind: Types = None,
    tag: Tags = None,
    tags: Annotated[str | None, typer.Option(help="tag/untag: the tags, comma-separated")] = None,
    folder: Annotated[str | None, typer.Option(help="move: the target folder")] = None,
    root: Annotated[bool, typer.Option("--root", help="move: to the root")] = False,
    workspace: Workspace = "default",
    data_dir: DataDir = None,
    index: IndexNow = True,
) -> None:
    """Apply one action to many assets, picked by --ids or by --query/--type/--tag (as
    POST /v1/assets/bulk). Prints the counts and each asset that failed; exits 1 when any
    did."""
    from assetlens.services.bulk import BulkRequest

    if folder is not None and root:
        console.print("[red]Invalid input:[/] give --folder or --root, not both")
        raise typer.Exit(1)
    body: dict[str, Any] = {"action": action.value}
    if ids:
        body["ids"] = [part for value in ids for part in value.split(",") if part]
    if query is not None or kind or tag:
        body["query"] = {"q": query, "filters": {"type": kind or [], "tags": tag or []}}
    if tags is not None:
        body["tags"] = [part.strip() for part in tags.split(",") if part.strip()]
    if folder is not None or root:
        body["folder_id"] = folder
    with _library(data_dir, workspace) as container:
        request = BulkRequest.model_validate(body)
        result = _then_index(container, index, lambda: container.bulk.run(workspace, request))
    for failure in result.failed:
        console.print(
            f"[red]failed[/] {failure.id}: {failure.status} {failure.title}: {failure.detail}"
        )
    print(
        f"matched {result.matched}, succeeded {len(result.succeeded)}, failed {len(result.failed)}"
    )
    if result.failed:
        raise typer.Exit(1)
