"""Tag use cases: list with usage counts, rename (merging), delete everywhere.

Tags live on the assets (each manifest's `tags`, already normalised); usage counts come
from the index's tags facet. Rename and delete find the assets through the index, then
change each manifest by its own compare-and-swap, re-checking the tag there, so a stale
index can only make them skip work, never undo a concurrent edit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

from assetlens.domain import Asset, AssetStatus
from assetlens.errors import InvalidInput, NotFound
from assetlens.filters import Facet, Filters
from assetlens.normalize import MAX_TAG_CHARS, normalize_tags, tag_key
from assetlens.ports import SearchIndex
from assetlens.query import SearchQuery
from assetlens.services.assets import AssetService
from assetlens.services.scan import matching_ids

# The most buckets one facet request may ask of an index adapter (SearchQuery.facet_size).
MAX_TAGS_LISTED = 200


class TagCount(BaseModel):
    name: str
    count: int = Field(description="assets carrying the tag (not counting the trash)")


class TagRename(BaseModel):
    """The body of PATCH /v1/tags/{name}."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=4 * MAX_TAG_CHARS)


def canonical_tag(value: str) -> str:
    """The one normalised tag `value` names; 422 when it names none or is too long."""
    tags = normalize_tags([value])
    if not tags:
        raise InvalidInput("a tag name needs at least one visible character")
    return tags[0]


class TagService:
    def __init__(self, index: SearchIndex, assets: AssetService) -> None:
        self._index = index
        self._assets = assets

    def list_tags(self, workspace: str, *, prefix: str = "", limit: int = 100) -> list[TagCount]:
        """The `limit` most used tags (ties by name), optionally only those starting with
        `prefix` (compared in normalised form): the index counts just the tags with the
        prefix, so a rarely used one is listed however many others are used more."""
        start = tag_key(prefix)
        if len(start) > MAX_TAG_CHARS:
            return []  # longer than any tag: nothing to ask the index
        page = self._index.search(
            SearchQuery(
                workspace=workspace,
                facets=[Facet.TAGS],
                facet_size=limit,
                facet_prefix={Facet.TAGS: start},
                limit=1,
            )
        )
        buckets = sorted(page.facets.get(Facet.TAGS.value, []), key=lambda b: (-b.count, b.value))
        return [TagCount(name=b.value, count=b.count) for b in buckets[:limit]]

    def rename(self, workspace: str, old: str, new: str) -> int:
        """Rename tag `old` to `new` on every asset (trash included); where an asset has both,
        they merge into one. Returns the number of assets changed; 404 when none has `old`."""
        source, target = tag_key(old), canonical_tag(new)
        if source == target:
            return 0

        def change(asset: Asset) -> Asset | None:
            if source not in asset.tags:
                return None
            renamed = [target if tag == source else tag for tag in asset.tags]
            asset.tags = list(dict.fromkeys(renamed))
            return asset

        return self._each_tagged(workspace, source, change)

    def delete(self, workspace: str, name: str) -> int:
        """Remove tag `name` from every asset (trash included); the number changed."""
        source = tag_key(name)

        def change(asset: Asset) -> Asset | None:
            if source not in asset.tags:
                return None
            asset.tags = [tag for tag in asset.tags if tag != source]
            return asset

        return self._each_tagged(workspace, source, change)

    def _each_tagged(
        self, workspace: str, tag: str, change: Callable[[Asset], Asset | None]
    ) -> int:
        if not tag:
            raise NotFound("tag not found")
        if len(tag) > MAX_TAG_CHARS:  # longer than any stored tag: no asset can have it
            raise NotFound("no asset has this tag")
        filters = Filters(tags=[tag], status=list(AssetStatus))
        ids = matching_ids(self._index, workspace, filters)
        if not ids:
            raise NotFound("no asset has this tag")
        changed = 0
        for asset_id in ids:
            with contextlib.suppress(NotFound):  # purged meanwhile
                if self._assets.apply(workspace, asset_id, change) is not None:
                    changed += 1
        return changed
