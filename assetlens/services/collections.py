"""Collection use cases: create, list, edit, ordered items, shares, and the shared views of
their assets (metadata, content, previews, tags, search).

Every use case starts with `open()`, the one authorisation decision (collection_access.py).

Items are assets of the owner's workspace only. An editor adds assets the owner already
shares with them (through any of the owner's collections): a share never exposes an asset
of the editor's own workspace to others, and a collection is searched with one query.
"""

from __future__ import annotations

from dataclasses import dataclass

from assetlens import layout
from assetlens.collections import Collection, CollectionDocs, CollectionItem, Role
from assetlens.cursors import decode_cursor, encode_cursor
from assetlens.domain import Asset, AssetStatus
from assetlens.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from assetlens.query import SearchPage
from assetlens.services.asset_inputs import AssetPatch
from assetlens.services.assets import AssetService
from assetlens.services.collection_access import (
    Access,
    open_collection,
    shared_asset_ids,
    shared_with,
)
from assetlens.services.collection_inputs import (
    MAX_ITEMS,
    MAX_PAGE,
    MAX_SHARES,
    CollectionCreate,
    CollectionPatch,
    ItemsAdd,
    ItemsOrder,
    ShareSet,
    TagsSet,
)
from assetlens.services.search import SearchRequest, SearchService


@dataclass(frozen=True, slots=True)
class ItemView:
    item: CollectionItem
    position: int
    asset: Asset


@dataclass(frozen=True, slots=True)
class ItemsPage:
    access: Access
    items: list[ItemView]
    next_cursor: str | None


class CollectionService:
    def __init__(self, docs: CollectionDocs, assets: AssetService, search: SearchService) -> None:
        self._docs = docs
        self._assets = assets
        self._search = search

    # -- authorisation ------------------------------------------------------------------------

    def open(self, workspace: str, collection_id: str, need: Role = Role.VIEW) -> Access:
        """See `collection_access.open_collection`."""
        return open_collection(self._docs, workspace, collection_id, need)

    # -- collections --------------------------------------------------------------------------

    def list_for(self, workspace: str) -> list[Access]:
        """The workspace's own collections, then those shared with it; each by name."""
        owned = [Access(c, Role.OWNER) for c in self._docs.owned(workspace)]
        shared = shared_with(self._docs, workspace)

        def order(access: Access) -> tuple[str, str]:
            return access.collection.name.casefold(), access.collection.id

        return sorted(owned, key=order) + sorted(shared, key=order)

    def create(self, workspace: str, body: CollectionCreate) -> Access:
        collection = Collection(owner=workspace, name=body.name, description=body.description)
        self._docs.create(collection)
        return Access(collection, Role.OWNER)

    def get(self, workspace: str, collection_id: str) -> Access:
        return self.open(workspace, collection_id)

    def update(self, workspace: str, collection_id: str, patch: CollectionPatch) -> Access:
        self.open(workspace, collection_id, Role.OWNER)

        def mutate(collection: Collection) -> Collection | None:
            before = (collection.name, collection.description)
            if patch.name is not None:
                collection.name = patch.name
            if patch.description is not None:
                collection.description = patch.description
            return None if (collection.name, collection.description) == before else collection

        return Access(self._docs.update(workspace, collection_id, mutate), Role.OWNER)

    def delete(self, workspace: str, collection_id: str) -> None:
        """Delete the collection (not its assets) and withdraw every share."""
        self.open(workspace, collection_id, Role.OWNER)
        while True:
            collection, etag = self._docs.get(workspace, collection_id)
            try:
                self._docs.delete(workspace, collection_id, etag)
            except PreconditionFailed:
                continue  # changed meanwhile (e.g. a new share): withdraw that one too
            break
        for grantee in collection.shares:
            self._docs.drop_grant(grantee, collection_id)

    # -- items --------------------------------------------------------------------------------

    def items(
        self, workspace: str, collection_id: str, limit: int = 50, cursor: str | None = None
    ) -> ItemsPage:
        """A page of the items in collection order with their assets. Items whose asset is
        trashed or gone are skipped, so a page may hold fewer than `limit`."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be 1-{MAX_PAGE}")
        access = self.open(workspace, collection_id)
        start = _offset(cursor)
        collection = access.collection
        window = collection.items[start : start + limit]
        views = []
        for position, item in enumerate(window, start=start):
            asset = self._visible_asset(collection.owner, item.asset_id)
            if asset is not None:
                views.append(ItemView(item, position, asset))
        more = start + limit < len(collection.items)
        return ItemsPage(access, views, encode_cursor(["item", start + limit]) if more else None)

    def add_items(self, workspace: str, collection_id: str, body: ItemsAdd) -> Access:
        """Add assets (already present ones are left where they are). 422 names the ids the
        caller cannot add: missing, trashed, another workspace's, or, for an editor, not
        already shared with them by the owner."""
        access = self.open(workspace, collection_id, Role.EDIT)
        owner = access.collection.owner
        wanted = list(dict.fromkeys(body.asset_ids))
        allowed = (
            None if access.role is Role.OWNER else shared_asset_ids(self._docs, workspace, owner)
        )
        refused = [
            asset_id
            for asset_id in wanted
            if (allowed is not None and asset_id not in allowed)
            or self._visible_asset(owner, asset_id) is None
        ]
        if refused:
            raise InvalidInput(
                "these ids name no asset you can add to this collection: " + ", ".join(refused[:20])
            )

        def mutate(collection: Collection) -> Collection | None:
            present = set(collection.item_ids())
            new = [
                CollectionItem(asset_id=i, added_by=workspace) for i in wanted if i not in present
            ]
            if not new:
                return None
            if len(collection.items) + len(new) > MAX_ITEMS:
                raise Conflict(f"a collection holds at most {MAX_ITEMS} assets")
            at = len(collection.items) if body.position is None else body.position
            collection.items[at:at] = new
            return collection

        return Access(self._docs.update(owner, collection_id, mutate), access.role)

    def remove_item(self, workspace: str, collection_id: str, asset_id: str) -> Access:
        access = self.open(workspace, collection_id, Role.EDIT)

        def mutate(collection: Collection) -> Collection | None:
            if not collection.holds(asset_id):
                raise NotFound("the collection holds no such asset")
            collection.items = [i for i in collection.items if i.asset_id != asset_id]
            return collection

        return Access(
            self._docs.update(access.collection.owner, collection_id, mutate), access.role
        )

    def reorder(self, workspace: str, collection_id: str, body: ItemsOrder) -> Access:
        """The listed items first, in that order; any others keep their order after them."""
        access = self.open(workspace, collection_id, Role.EDIT)
        if len(set(body.asset_ids)) != len(body.asset_ids):
            raise InvalidInput("asset_ids lists an asset twice")

        def mutate(collection: Collection) -> Collection | None:
            by_id = {item.asset_id: item for item in collection.items}
            unknown = [i for i in body.asset_ids if i not in by_id]
            if unknown:
                raise InvalidInput("not in the collection: " + ", ".join(unknown[:20]))
            listed = set(body.asset_ids)
            collection.items = [by_id[i] for i in body.asset_ids] + [
                item for item in collection.items if item.asset_id not in listed
            ]
            return collection

        return Access(
            self._docs.update(access.collection.owner, collection_id, mutate), access.role
        )

    # -- shares -------------------------------------------------------------------------------

    def share(self, workspace: str, collection_id: str, grantee: str, body: ShareSet) -> Access:
        """Grant (or change) `grantee`'s role. The document first, then the marker: setting
        the same share again repairs a marker lost to a crash."""
        self.open(workspace, collection_id, Role.OWNER)
        layout.check_workspace(grantee)
        if grantee == workspace:
            raise InvalidInput("a collection cannot be shared with its owner")

        def mutate(collection: Collection) -> Collection | None:
            if grantee not in collection.shares and len(collection.shares) >= MAX_SHARES:
                raise Conflict(f"a collection is shared with at most {MAX_SHARES} workspaces")
            if collection.shares.get(grantee) is body.role:
                return None
            collection.shares[grantee] = body.role
            return collection

        updated = self._docs.update(workspace, collection_id, mutate)
        self._docs.put_grant(grantee, collection_id, workspace)
        return Access(updated, Role.OWNER)

    def unshare(self, workspace: str, collection_id: str, grantee: str) -> Access:
        """Revoke: the document first, so the grantee loses access on its next request."""
        self.open(workspace, collection_id, Role.OWNER)

        def mutate(collection: Collection) -> Collection | None:
            if collection.shares.pop(grantee, None) is None:
                raise NotFound("the collection is not shared with that workspace")
            return collection

        updated = self._docs.update(workspace, collection_id, mutate)
        self._docs.drop_grant(grantee, collection_id)
        return Access(updated, Role.OWNER)

    # -- the assets of a collection -----------------------------------------------------------

    def asset(
        self, workspace: str, collection_id: str, asset_id: str, need: Role = Role.VIEW
    ) -> Asset:
        """An asset of the collection; NotFound for anything else of the owner's workspace."""
        access = self.open(workspace, collection_id, need)
        asset = None
        if access.collection.holds(asset_id):
            asset = self._visible_asset(access.collection.owner, asset_id)
        if asset is None:
            raise NotFound("asset not found")
        return asset

    def preview(
        self, workspace: str, collection_id: str, asset_id: str, size: str
    ) -> tuple[Asset, bytes | None]:
        asset = self.asset(workspace, collection_id, asset_id)
        return self._assets.preview(asset.workspace, asset.id, size)

    def set_tags(self, workspace: str, collection_id: str, asset_id: str, body: TagsSet) -> Asset:
        asset = self.asset(workspace, collection_id, asset_id, Role.EDIT)
        return self._assets.update(asset.workspace, asset.id, AssetPatch(tags=body.tags), None)

    def search(self, workspace: str, collection_id: str, request: SearchRequest) -> SearchPage:
        """Search restricted to the collection's live assets (never the trash)."""
        collection = self.open(workspace, collection_id).collection
        members = collection.item_ids()
        if request.filters.ids:
            wanted = set(request.filters.ids)
            members = [i for i in members if i in wanted]
        statuses = [s for s in request.filters.effective_status() if s is not AssetStatus.DELETED]
        if not members or not statuses:
            return SearchPage(total=0, hits=[])
        filters = request.filters.model_copy(update={"ids": members, "status": statuses})
        return self._search.search(
            collection.owner, request.model_copy(update={"filters": filters})
        )

    # -- helpers ------------------------------------------------------------------------------

    def _visible_asset(self, owner: str, asset_id: str) -> Asset | None:
        try:
            asset = self._assets.get(owner, asset_id)
        except NotFound:
            return None
        return None if asset.status is AssetStatus.DELETED else asset


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    values = decode_cursor(cursor)
    if (
        len(values) != 2
        or values[0] != "item"
        or not isinstance(values[1], int)
        or isinstance(values[1], bool)
        or not 0 <= values[1] <= MAX_ITEMS
    ):
        raise InvalidInput("malformed cursor")
    return values[1]
