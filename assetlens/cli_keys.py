"""`assetlens keys …`: create, list and revoke a workspace's API keys, straight in the
library's store (no server needed)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from assetlens.access import Scope, ordered
from assetlens.cli_base import DataDir, console, library_settings, refuse_invalid, where
from assetlens.config import Settings

if TYPE_CHECKING:
    from assetlens.apikeys import ApiKeys

keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    workspace: Annotated[str, typer.Option(help="workspace the key belongs to")],
    name: Annotated[str, typer.Option(help="a label for the key")] = "",
    scope: Annotated[
        Scope, typer.Option(help="what the key may do (admin implies write, write implies read)")
    ] = Scope.ADMIN,
    data_dir: DataDir = None,
) -> None:
    """Create an API key; the key is the last line printed."""
    settings = library_settings(data_dir)
    new = refuse_invalid(lambda: _keys(settings).issue(workspace, name, frozenset({scope})))
    console.print(
        f"Created {scope.value} key {new.info.id} for workspace "
        f"[bold]{workspace}[/] in {where(settings)}. It works only against this "
        "library and is shown only once:"
    )
    print(new.key)


@keys_app.command("list")
def keys_list(
    workspace: Annotated[str, typer.Option(help="workspace whose keys to list")],
    data_dir: DataDir = None,
) -> None:
    """List a workspace's keys (never the keys themselves), revoked ones too.
    Tab-separated on stdout, one key a line, for scripts."""
    settings = library_settings(data_dir)
    infos = refuse_invalid(lambda: _keys(settings).list(workspace))
    print("id\tname\tscopes\tcreated_at\thint\trevoked_at")
    for info in infos:
        revoked = info.revoked_at.isoformat(timespec="seconds") if info.revoked_at else "-"
        print(
            "\t".join(
                [
                    info.id,
                    info.name or "-",
                    ",".join(ordered(info.scopes)),
                    info.created_at.isoformat(timespec="seconds"),
                    info.hint + "…",
                    revoked,
                ]
            )
        )
    console.print(f"{len(infos)} key(s) in workspace {workspace} ({where(settings)})")


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="the key's id, from `keys list`")],
    workspace: Annotated[str, typer.Option(help="workspace the key belongs to")],
    data_dir: DataDir = None,
) -> None:
    """Revoke a key: it and its browser sessions are refused from the next request on."""
    from assetlens.errors import NotFound

    settings = library_settings(data_dir)
    try:
        info = _keys(settings).revoke(workspace, key_id)
    except NotFound:
        console.print(f"[red]no key {key_id} in workspace {workspace}[/] ({where(settings)})")
        raise typer.Exit(1) from None
    console.print(f"revoked key {info.id} ({info.name or 'unnamed'}) of workspace {workspace}")


def _keys(settings: Settings) -> ApiKeys:
    from assetlens.apikeys import ApiKeys
    from assetlens.bootstrap import build_store

    return ApiKeys(build_store(settings))
