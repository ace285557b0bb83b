"""Bulk actions: one change (tag, untag, move, favourite, trash, restore) applied to many
assets, picked by id or by a search query. Every asset is changed through AssetService by
its own compare-and-swap, so validation, revisions and re-indexing are the single-asset
ones and a concurrent edit is never lost."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assetlens.config import Settings
from assetlens.domain import Asset, BulkAction
from assetlens.errors import AssetlensError, InvalidInput
from assetlens.fields import FolderRef, ObjectId, TagText
from assetlens.filters import Filters
from assetlens.normalize import normalize_tags
from assetlens.query import MAX_LIMIT, MAX_QUERY_CHARS, SearchMode
from assetlens.services.asset_inputs import AssetPatch
from assetlens.services.assets import AssetService
from assetlens.services.search import SearchRequest, SearchService

MAX_BULK_IDS = 1000
MAX_BULK_TAGS = 100
# Stable under concurrent inserts and independent of scoring, unlike relevance order.
_RESOLVE_SORT = "created_at:desc"


class BulkQuery(BaseModel):
    """Selects assets the way POST /v1/search does (keyword text and filters)."""

    model_config = ConfigDict(extra="forbid")

    q: str | None = Field(default=None, max_length=MAX_QUERY_CHARS)
    filters: Filters = Field(default_factory=Filters)


class BulkRequest(BaseModel):
    """The body of POST /v1/assets/bulk: an action over `ids` or over a `query`."""

    model_config = ConfigDict(extra="forbid")

    action: BulkAction
    ids: list[ObjectId] | None = Field(default=None, min_length=1, max_length=MAX_BULK_IDS)
    query: BulkQuery | None = None
    tags: list[TagText] | None = Field(
        default=None, min_length=1, max_length=MAX_BULK_TAGS, description="tag and untag only"
    )
    folder_id: FolderRef | None = Field(
        default=None, description="move only; null moves to the root"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.ids is None) == (self.query is None):
            raise ValueError("give exactly one of `ids` and `query`")
        tagging = self.action in (BulkAction.TAG, BulkAction.UNTAG)
        if tagging and self.tags is None:
            raise ValueError(f"`{self.action.value}` needs `tags`")
        if not tagging and self.tags is not None:
            raise ValueError("`tags` go only with the tag and untag actions")
        moving = self.action is BulkAction.MOVE
        if moving and "folder_id" not in self.model_fields_set:
            raise ValueError("`move` needs `folder_id` (null moves to the root)")
        if not moving and "folder_id" in self.model_fields_set:
            raise ValueError("`folder_id` goes only with the move action")
        return self


class BulkFailure(BaseModel):
    """One asset the action could not change, with the problem a single request would get."""

    id: str
    status: int
    title: str
    detail: str


class BulkResult(BaseModel):
    """`matched` assets were selected; each either succeeded or failed (in request order)."""

    matched: int
    succeeded: list[str]
    failed: list[BulkFailure]


Operation = Callable[[str], Asset | None]


class BulkService:
    def __init__(self, settings: Settings, assets: AssetService, search: SearchService) -> None:
        self._settings = settings
        self._assets = assets
        self._search = search

    def run(self, workspace: str, request: BulkRequest) -> BulkResult:
        """Select the assets, then apply the action to each; per-asset errors are reported,
        not raised. Invalid requests (bad tags, a query over the cap) change nothing."""
        operation = self._operation(workspace, request)
        ids = self._select(workspace, request)
        workers = max(1, min(self._settings.bulk_workers, len(ids)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="assetlens-bulk") as pool:
            # map() yields in submission order: the response lists ids as they were asked.
            outcomes = list(pool.map(lambda asset_id: _attempt(operation, asset_id), ids))
        return BulkResult(
            matched=len(ids),
            succeeded=[
                asset_id for asset_id, failure in zip(ids, outcomes, strict=True) if failure is None
            ],
            failed=[failure for failure in outcomes if failure is not None],
        )

    def _operation(self, workspace: str, request: BulkRequest) -> Operation:
        """What to do to one asset; validates the action's arguments up front."""
        assets = self._assets
        action = request.action
        if action in (BulkAction.TAG, BulkAction.UNTAG):
            tags = normalize_tags(request.tags)
            if not tags:
                raise InvalidInput("`tags` holds no tag once normalised")
            if action is BulkAction.TAG:
                return lambda asset_id: assets.change_tags(workspace, asset_id, add=tags)
            return lambda asset_id: assets.change_tags(workspace, asset_id, remove=tags)
        if action is BulkAction.MOVE:
            if request.folder_id is not None:
                # A bad target refuses the whole request; update() checks again per asset,
                # exactly like PATCH {folder_id}, for a folder deleted meanwhile.
                assets.folders.require(workspace, request.folder_id)
            patch = AssetPatch(folder_id=request.folder_id)
            return lambda asset_id: assets.update(workspace, asset_id, patch, None)
        if action in (BulkAction.FAVORITE, BulkAction.UNFAVORITE):
            starred = action is BulkAction.FAVORITE
            return lambda asset_id: assets.set_favorite(workspace, asset_id, starred)
        if action is BulkAction.DELETE:
            return lambda asset_id: assets.delete(workspace, asset_id)
        return lambda asset_id: assets.restore(workspace, asset_id)

    def _select(self, workspace: str, request: BulkRequest) -> list[str]:
        if request.ids is not None:
            return list(dict.fromkeys(request.ids))
        assert request.query is not None  # the model allows exactly one of the two
        return self._resolve(workspace, request.query)

    def _resolve(self, workspace: str, query: BulkQuery) -> list[str]:
        """Every asset id the keyword query matches, paging by cursor; InvalidInput when
        more than `bulk_max_assets` match (checked before anything changes)."""
        cap = self._settings.bulk_max_assets
        ids: dict[str, None] = {}
        cursor: str | None = None
        while True:
            page = self._search.search(
                workspace,
                SearchRequest(
                    q=query.q,
                    mode=SearchMode.KEYWORD,
                    filters=query.filters,
                    sort=_RESOLVE_SORT,
                    limit=MAX_LIMIT,
                    cursor=cursor,
                ),
            )
            ids.update(dict.fromkeys(hit.asset.id for hit in page.hits))
            if page.total > cap or len(ids) > cap:
                raise InvalidInput(
                    f"the query matches {max(page.total, len(ids))} assets; "
                    f"a bulk action takes at most {cap}: narrow the query"
                )
            cursor = page.next_cursor
            if cursor is None or not page.hits:
                return list(ids)


def _attempt(operation: Operation, asset_id: str) -> BulkFailure | None:
    try:
        operation(asset_id)
    except AssetlensError as exc:
        return BulkFailure(id=asset_id, status=exc.status, title=exc.title, detail=exc.detail)
    return None
