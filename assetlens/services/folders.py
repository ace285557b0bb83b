"""Folder use cases: the tree (create, rename, move, delete), its contents and derived
asset counts. The tree lives in the store (assetlens.folders); counts come from the index."""

from __future__ import annotations

import contextlib
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from assetlens.config import Settings
from assetlens.errors import Conflict, IndexUnavailable, NotFound
from assetlens.filters import MAX_FILTER_VALUES, Facet, Filters
from assetlens.folders import ROOT, FolderCatalog, FolderNode, FolderTree
from assetlens.ports import SearchIndex
from assetlens.query import Hit, SearchQuery, Sort
from assetlens.services.assets import AssetService
from assetlens.services.scan import matching_ids

MAX_FOLDER_NAME = 255


class Folder(BaseModel):
    """A folder as the API shows it: where it sits and how many assets it holds."""

    id: str
    name: str
    parent_id: str | None
    path: list[str] = Field(description="names of the folders above it, top level first")
    depth: int = Field(description="0 for a top-level folder")
    asset_count: int | None = Field(
        description="assets directly in the folder (not in the trash); null while the "
        "search index is unavailable"
    )
    created_at: datetime
    updated_at: datetime


class FolderCreate(BaseModel):
    """The body of POST /v1/folders."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_FOLDER_NAME)
    parent_id: str | None = Field(default=None, max_length=64)


class FolderPatch(BaseModel):
    """The body of PATCH /v1/folders/{id}: omitted fields stay; `parent_id: null` moves the
    folder to the top level."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=MAX_FOLDER_NAME)
    parent_id: str | None = Field(default=None, max_length=64)


class FolderContents(BaseModel):
    """One page of a folder: its subfolders (first page only), then its assets."""

    folder: Folder | None
    subfolders: list[Folder]
    total: int
    hits: list[Hit]
    next_cursor: str | None


class FolderDeletion(BaseModel):
    deleted_folders: int
    trashed_assets: int


class FolderService:
    def __init__(self, settings: Settings, index: SearchIndex, assets: AssetService) -> None:
        self._settings = settings
        self._index = index
        self._assets = assets
        self._catalog: FolderCatalog = assets.folders

    # -- read -------------------------------------------------------------------------------

    def list_folders(self, workspace: str) -> list[Folder]:
        """Every folder of the workspace, flat, parents before children."""
        tree = self._catalog.read(workspace)
        nodes = sorted(
            tree.folders.values(),
            key=lambda n: [*(a.name.casefold() for a in tree.ancestors(n.id)), n.name.casefold()],
        )
        return self._views(workspace, tree, nodes)

    def get(self, workspace: str, folder_id: str) -> Folder:
        tree = self._catalog.read(workspace)
        return self._views(workspace, tree, [tree.node(folder_id)])[0]

    def require(self, workspace: str, folder_id: str) -> None:
        """422 unless `folder_id` names a folder of `workspace` (for body references)."""
        self._catalog.require(workspace, folder_id)

    def subtree_ids(self, workspace: str, folder_ids: list[str]) -> list[str]:
        """The given folders and every folder below them."""
        return self._catalog.read(workspace).subtrees(folder_ids)

    def contents(
        self,
        workspace: str,
        folder_id: str,
        *,
        limit: int,
        cursor: str | None,
        sort: str | None = None,
    ) -> FolderContents:
        """A folder's subfolders and a page of its assets. `root` is the top level: assets
        without a folder, and any whose folder no longer exists (never lost from view)."""
        tree = self._catalog.read(workspace)
        if folder_id == ROOT:
            folder = None
            filters = Filters().model_copy(update={"exclude_folder_id": list(tree.folders)})
            children = tree.children(None)
        else:
            folder = self._views(workspace, tree, [tree.node(folder_id)])[0]
            filters = Filters(folder_id=[folder_id])
            children = tree.children(folder_id)
        page = self._index.search(
            SearchQuery(
                workspace=workspace,
                filters=filters,
                sort=Sort.parse(sort, has_text=False),
                limit=limit,
                cursor=cursor,
            )
        )
        subfolders = [] if cursor else self._views(workspace, tree, children)
        return FolderContents(
            folder=folder,
            subfolders=subfolders,
            total=page.total,
            hits=page.hits,
            next_cursor=page.next_cursor,
        )

    # -- change -----------------------------------------------------------------------------

    def create(self, workspace: str, body: FolderCreate) -> Folder:
        node = self._catalog.change(
            workspace,
            lambda tree: tree.add(
                body.name,
                body.parent_id,
                max_depth=self._settings.max_folder_depth,
                max_folders=self._settings.max_folders,
            ),
        )
        return self.get(workspace, node.id)

    def update(self, workspace: str, folder_id: str, body: FolderPatch) -> Folder:
        """Rename and/or move; every rule is re-checked on the tree the write replaces."""
        move = "parent_id" in body.model_fields_set
        self._catalog.change(
            workspace,
            lambda tree: tree.change(
                folder_id,
                name=body.name,
                parent_id=body.parent_id,
                move=move,
                max_depth=self._settings.max_folder_depth,
            ),
        )
        return self.get(workspace, folder_id)

    def delete(self, workspace: str, folder_id: str, *, force: bool) -> FolderDeletion:
        """Delete a folder. Without `force` it must hold no subfolder and no asset (409);
        with `force` every asset of its subtree goes to the trash, then the subtree goes."""
        tree = self._catalog.read(workspace)
        tree.node(folder_id)
        trashed = 0
        if force:
            ids = tree.subtree(folder_id)
            doomed = list(matching_ids(self._index, workspace, _in_folders(ids)))
            self._refuse_referenced(workspace, doomed)
            for asset_id in doomed:
                with contextlib.suppress(NotFound):  # purged meanwhile
                    # A reference made since the check refuses here (409), leaving the
                    # folder and the assets not yet trashed in place.
                    self._assets.delete(workspace, asset_id)
                    trashed += 1
        else:
            if tree.children(folder_id):
                raise Conflict("the folder has subfolders; delete them first, or use ?force=true")
            count = self._counts(workspace, [folder_id])[folder_id]
            if count:
                raise Conflict(
                    f"the folder holds {count} asset(s); move them first, or use "
                    "?force=true to move them to the trash"
                )

        def remove(current: FolderTree) -> int:
            current.node(folder_id)
            # Re-checked on the tree being replaced: a subfolder made meanwhile is either
            # refused (no force) or removed with the rest (force).
            doomed = current.subtree(folder_id)
            if not force and len(doomed) > 1:
                raise Conflict("the folder has subfolders; delete them first, or use ?force=true")
            current.remove(doomed)
            return len(doomed)

        deleted = self._catalog.change(workspace, remove)
        return FolderDeletion(deleted_folders=deleted, trashed_assets=trashed)

    def _refuse_referenced(self, workspace: str, asset_ids: list[str]) -> None:
        """A forced delete trashes assets, never their references: refuse (409, before
        anything changes) when any asset of the subtree is in use."""
        in_use = []
        for asset_id in asset_ids:
            with contextlib.suppress(NotFound):
                if self._assets.get(workspace, asset_id).references_count:
                    in_use.append(asset_id)
        if in_use:
            error = Conflict(
                f"{len(in_use)} asset(s) of the folder are in use (references); "
                "remove their references or move them out first"
            )
            error.extra["assets_in_use"] = in_use[:100]
            raise error

    # -- derived ----------------------------------------------------------------------------

    def _views(self, workspace: str, tree: FolderTree, nodes: list[FolderNode]) -> list[Folder]:
        counts: dict[str, int] | None
        try:
            counts = self._counts(workspace, [n.id for n in nodes])
        except IndexUnavailable:
            counts = None  # the tree is in the store: still shown, without counts
        views = []
        for node in nodes:
            path = [a.name for a in tree.ancestors(node.id)]
            views.append(
                Folder(
                    id=node.id,
                    name=node.name,
                    parent_id=node.parent_id,
                    path=path,
                    depth=len(path),
                    asset_count=None if counts is None else counts[node.id],
                    created_at=node.created_at,
                    updated_at=node.updated_at,
                )
            )
        return views

    def _counts(self, workspace: str, folder_ids: list[str]) -> dict[str, int]:
        """Assets directly in each folder, from the index's folder facet (one search per
        hundred folders)."""
        counts = dict.fromkeys(folder_ids, 0)
        for start in range(0, len(folder_ids), MAX_FILTER_VALUES):
            chunk = folder_ids[start : start + MAX_FILTER_VALUES]
            page = self._index.search(
                SearchQuery(
                    workspace=workspace,
                    filters=Filters(folder_id=chunk),
                    facets=[Facet.FOLDER],
                    facet_size=len(chunk),
                    limit=1,
                )
            )
            for bucket in page.facets.get(Facet.FOLDER.value, []):
                if bucket.value in counts:
                    counts[bucket.value] = bucket.count
        return counts


def _in_folders(folder_ids: list[str]) -> Filters:
    """Assets in any of the folders, however many (the API's 100-value cap is for clients)."""
    return Filters().model_copy(update={"folder_id": folder_ids})
