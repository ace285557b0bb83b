"""Collections as stored: one JSON document per collection (ordered items, shares), updated
by compare-and-swap, and one grant marker per share in the grantee's catalog.

The collection document is the authority on who may see it; a grant marker only lets the
grantee find the collection (and its owner) in one read. Markers are written after and
removed after the document changes, so a lost marker at worst hides a share until the owner
sets it again, and a stale marker grants nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from assetlens import layout
from assetlens.domain import new_id, utcnow
from assetlens.errors import NotFound, ObjectNotFound, PreconditionFailed
from assetlens.ports import ObjectStore


class Role(StrEnum):
    """What a workspace may do with a collection. Ordered: owner > edit > view."""

    OWNER = "owner"
    EDIT = "edit"
    VIEW = "view"

    def allows(self, needed: Role) -> bool:
        return _RANK[self] >= _RANK[needed]


_RANK = {Role.VIEW: 0, Role.EDIT: 1, Role.OWNER: 2}


class ShareRole(StrEnum):
    """The rights a share grants another workspace."""

    VIEW = "view"
    EDIT = "edit"

    @property
    def role(self) -> Role:
        return Role(self.value)


class CollectionItem(BaseModel):
    asset_id: str
    added_at: datetime = Field(default_factory=utcnow)
    added_by: str


class Collection(BaseModel):
    """A named, ordered set of assets of the owner's workspace."""

    id: str = Field(default_factory=new_id)
    owner: str
    name: str
    description: str = ""
    items: list[CollectionItem] = Field(default_factory=list)
    shares: dict[str, ShareRole] = Field(default_factory=dict)
    revision: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    def item_ids(self) -> list[str]:
        return [item.asset_id for item in self.items]

    def holds(self, asset_id: str) -> bool:
        return any(item.asset_id == asset_id for item in self.items)

    def role_of(self, workspace: str) -> Role | None:
        """The role `workspace` has here, or None when it has none."""
        if workspace == self.owner:
            return Role.OWNER
        share = self.shares.get(workspace)
        return share.role if share else None


Mutation = Callable[[Collection], Collection | None]


class CollectionDocs:
    """The collection documents and grant markers in the object store."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def get(self, owner: str, collection_id: str) -> tuple[Collection, str]:
        """The collection and its ETag; NotFound otherwise."""
        if not layout.is_collection_id(collection_id):
            raise NotFound("collection not found")
        try:
            stored = self._store.get_bytes(layout.collection_key(owner, collection_id))
        except ObjectNotFound as exc:
            raise NotFound("collection not found") from exc
        return Collection.model_validate_json(stored.data), stored.info.etag

    def create(self, collection: Collection) -> None:
        self._store.put_bytes(
            layout.collection_key(collection.owner, collection.id),
            collection.model_dump_json().encode(),
            content_type="application/json",
            create_only=True,
        )

    def update(self, owner: str, collection_id: str, mutate: Mutation) -> Collection:
        """Apply `mutate` to the current document by compare-and-swap, retrying lost races.
        `mutate` returns the new document, or None for no change."""
        while True:
            current, etag = self.get(owner, collection_id)
            changed = mutate(current.model_copy(deep=True))
            if changed is None:
                return current
            changed.revision = current.revision + 1
            changed.updated_at = utcnow()
            try:
                self._store.put_bytes(
                    layout.collection_key(owner, collection_id),
                    changed.model_dump_json().encode(),
                    content_type="application/json",
                    if_match=etag,
                )
            except PreconditionFailed:
                continue
            return changed

    def delete(self, owner: str, collection_id: str, etag: str) -> None:
        """Remove the document if it is still the version read (PreconditionFailed if not)."""
        self._store.delete(layout.collection_key(owner, collection_id), if_match=etag)

    def owned(self, owner: str) -> Iterator[Collection]:
        for key in self._store.list_keys(layout.collection_prefix(owner)):
            collection_id = key.rsplit("/", 1)[1].removesuffix(".json")
            try:
                yield self.get(owner, collection_id)[0]
            except NotFound:
                continue  # deleted while listing

    # -- grant markers ------------------------------------------------------------------------

    def put_grant(self, grantee: str, collection_id: str, owner: str) -> None:
        self._store.put_bytes(
            layout.grant_key(grantee, collection_id),
            json.dumps({"owner": owner}).encode(),
            content_type="application/json",
        )

    def drop_grant(self, grantee: str, collection_id: str) -> None:
        self._store.delete(layout.grant_key(grantee, collection_id))

    def grantor(self, grantee: str, collection_id: str) -> str | None:
        """The owner named by `grantee`'s marker for this collection, if there is one."""
        if not layout.is_collection_id(collection_id):
            return None
        try:
            data = self._store.get_bytes(layout.grant_key(grantee, collection_id)).data
        except ObjectNotFound:
            return None
        owner = json.loads(data).get("owner")
        return owner if isinstance(owner, str) else None

    def granted(self, grantee: str) -> Iterator[tuple[str, str]]:
        """(collection id, owner) of every marker in `grantee`'s catalog."""
        for key in self._store.list_keys(layout.grant_prefix(grantee)):
            collection_id = key.rsplit("/", 1)[1].removesuffix(".json")
            owner = self.grantor(grantee, collection_id)
            if owner is not None:
                yield collection_id, owner
