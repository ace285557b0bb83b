"""Who may do what with a collection: the one authorisation decision every collection use
case starts with, and what the owner's shares grant.

The caller's role (owner, edit, view) is read from the collection document on this very
request, so a revoked share stops working on the next request. A workspace with no role
answers NotFound, exactly like a missing collection; a role too small for the action
answers Forbidden.
"""

from __future__ import annotations

from dataclasses import dataclass

from assetlens import layout
from assetlens.collections import Collection, CollectionDocs, Role
from assetlens.errors import Forbidden, NotFound


@dataclass(frozen=True, slots=True)
class Access:
    """A collection as one caller sees it, with the caller's role."""

    collection: Collection
    role: Role


def open_collection(
    docs: CollectionDocs, workspace: str, collection_id: str, need: Role = Role.VIEW
) -> Access:
    """The collection with `workspace`'s role; NotFound without one, Forbidden when the
    role is below `need`. Read afresh on every call: nothing about grants is cached."""
    if not layout.is_collection_id(collection_id):
        raise NotFound("collection not found")
    try:
        collection, _ = docs.get(workspace, collection_id)
    except NotFound:
        owner = docs.grantor(workspace, collection_id)
        if owner is None:
            raise
        collection, _ = docs.get(owner, collection_id)
    role = collection.role_of(workspace)
    if role is None:
        raise NotFound("collection not found")
    if not role.allows(need):
        raise Forbidden(
            f"this needs the {need.value} role on the collection; you have {role.value}"
        )
    return Access(collection, role)


def shared_with(docs: CollectionDocs, workspace: str) -> list[Access]:
    """The other workspaces' collections shared with `workspace` today, in no set order."""
    shared = []
    for collection_id, owner in docs.granted(workspace):
        try:
            collection, _ = docs.get(owner, collection_id)
        except NotFound:
            # Deleted: the marker is left, since removing it here could race a new
            # share of the same id; a marker without a backing share grants nothing.
            continue
        role = collection.role_of(workspace)
        if role is not None and role is not Role.OWNER:
            shared.append(Access(collection, role))
    return shared


def shared_asset_ids(docs: CollectionDocs, workspace: str, owner: str) -> set[str]:
    """Every asset id of `owner` that `owner` shares with `workspace` today."""
    ids: set[str] = set()
    for collection_id, named_owner in docs.granted(workspace):
        if named_owner != owner:
            continue
        try:
            collection, _ = docs.get(owner, collection_id)
        except NotFound:
            continue
        if collection.role_of(workspace) is not None:
            ids.update(collection.item_ids())
    return ids
