"""`assetlens collections …`: collections, their items and their shares from the command
line, through the same service (and the same role decision) as the API.

`--workspace` is the acting workspace: the owner may do everything; a workspace the
collection is shared with for `edit` adds and removes items; one with `view` only reads.
"""

from __future__ import annotations

from typing import Annotated

import typer

from assetlens.cli_library import DataDir, _library, console
from assetlens.collections import Role, ShareRole

collections_app = typer.Typer(help="Manage collections and their shares.", no_args_is_help=True)

Workspace = Annotated[
    str, typer.Option(help="the acting workspace (the owner, or one the collection is shared with)")
]
CollectionId = Annotated[str, typer.Argument(help="the collection's id")]


@collections_app.command("list")
def collections_list(workspace: Workspace = "default", data_dir: DataDir = None) -> None:
    """The workspace's own collections, then those shared with it: tab-separated, one a
    line (id, name, your role, owner, items, shares — the owner's view only)."""
    with _library(data_dir, workspace) as container:
        listed = container.collections.list_for(workspace)
    print("id\tname\trole\towner\titems\tshares")
    for access in listed:
        collection = access.collection
        shares = (
            ",".join(
                f"{grantee}:{role.value}" for grantee, role in sorted(collection.shares.items())
            )
            if access.role is Role.OWNER
            else ""
        )
        print(
            "\t".join(
                [
                    collection.id,
                    collection.name,
                    access.role.value,
                    collection.owner,
                    str(len(collection.items)),
                    shares or "-",
                ]
            )
        )
    console.print(f"{len(listed)} collection(s)")


@collections_app.command("create")
def collections_create(
    name: Annotated[str, typer.Argument(help="the collection's name")],
    description: Annotated[str, typer.Option(help="a description")] = "",
    workspace: Workspace = "default",
    data_dir: DataDir = None,
) -> None:
    """Create a collection owned by the workspace; its id is the last line printed."""
    from assetlens.services.collection_inputs import CollectionCreate

    with _library(data_dir, workspace) as container:
        access = container.collections.create(
            workspace, CollectionCreate(name=name, description=description)
        )
    console.print(f"Created collection [bold]{access.collection.name}[/]")
    print(access.collection.id)


@collections_app.command("items")
def collections_items(
    collection_id: CollectionId,
    workspace: Workspace = "default",
    data_dir: DataDir = None,
) -> None:
    """The collection's items in collection order: tab-separated (position, asset id, type,
    name). Trashed assets are left out, as in the API."""
    from assetlens.services.collection_inputs import MAX_PAGE

    rows: list[tuple[int, str, str, str]] = []
    with _library(data_dir, workspace) as container:
        cursor: str | None = None
        while True:
            page = container.collections.items(workspace, collection_id, MAX_PAGE, cursor)
            rows += [
                (view.position, view.asset.id, view.asset.type.value, view.asset.name)
                for view in page.items
            ]
            cursor = page.next_cursor
            if cursor is None:
                break
    print("position\tasset_id\ttype\tname")
    for position, asset_id, kind, name in rows:
        print(f"{position}\t{asset_id}\t{kind}\t{name}")
    console.print(f"{len(rows)} item(s)")


@collections_app.command("rm")
def collections_rm(
    collection_id: CollectionId,
    workspace: Workspace = "default",
    data_dir: DataDir = None,
) -> None:
    """Delete a collection (the owner only): its assets stay, every share is withdrawn."""
    with _library(data_dir, workspace) as container:
        container.collections.delete(workspace, collection_id)
    console.print(f"deleted collection {collection_id}")


@collections_app.command("add")
def collections_add(
    collection_id: CollectionId,
    asset_ids: Annotated[list[str], typer.Argument(help="assets of the owner's workspace")],
    position: Annotated[
        int | None,
        typer.Option(min=0, help="insert before this index (0 = first); default: at the end"),
    ] = None,
    workspace: Workspace = "default",
    data_dir: DataDir = None,
) -> None:
    """Add assets (owner or editor); ids already there stay where they are."""
    from assetlens.services.collection_inputs import ItemsAdd

    with _library(data_dir, workspace) as container:
        access = container.collections.add_items(
            workspace, collection_id, ItemsAdd(asset_ids=asset_ids, position=position)
        )
    console.print(f"collection {collection_id} holds {len(access.collection.items)} item(s)")


@collections_app.command("remove")
def collections_remove(
    collection_id: CollectionId,
    asset_id: Annotated[str, typer.Argument(help="the item's asset id")],
    workspace: Workspace = "default",
    data_dir: DataDir = None,
) -> None:
    """Remove one item (owner or editor); the asset itself stays."""
    with _library(data_dir, workspace) as container:
        access = container.collections.remove_item(workspace, collection_id, asset_id)
    console.print(
        f"removed {asset_id}; collection {collection_id} holds "
        f"{len(access.collection.items)} item(s)"
    )


@collections_app.command("share")
def collections_share(
    collection_id: CollectionId,
    grantee: Annotated[
        str, typer.Argument(metavar="WORKSPACE", help="the workspace to share with")
    ],
    role: Annotated[ShareRole, typer.Option(help="what the grantee may do")],
    workspace: Workspace = "default",
    data_dir: DataDir = None,
) -> None:
    """Share the collection with another workspace (the owner only); again to change
    the role."""
    from assetlens.services.collection_inputs import ShareSet

    with _library(data_dir, workspace) as container:
        container.collections.share(workspace, collection_id, grantee, ShareSet(role=role))
    console.print(f"shared collection {collection_id} with {grantee} ({role.value})")


@collections_app.command("unshare")
def collections_unshare(
    collection_id: CollectionId,
    grantee: Annotated[
        str, typer.Argument(metavar="WORKSPACE", help="the workspace to withdraw the share from")
    ],
    workspace: Workspace = "default",
    data_dir: DataDir = None,
) -> None:
    """Withdraw a share (the owner only): the grantee loses access at once."""
    with _library(data_dir, workspace) as container:
        container.collections.unshare(workspace, collection_id, grantee)
    console.print(f"collection {collection_id} is no longer shared with {grantee}")
