"""Response models of the search and listing routes (the JSON shapes they answer)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from assetlens.domain import Asset, AssetStatus
from assetlens.query import FacetBucket, Hit, RankedBy, SearchPage


class AssetOut(Asset):
    """An asset as the API shows it: the workspace is implied by the caller's key."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    workspace: str = Field(default="", exclude=True)
    deleted_from: AssetStatus | None = Field(default=None, exclude=True)

    @classmethod
    def of(cls, asset: Asset) -> AssetOut:
        return cls.model_validate(asset, from_attributes=True)


class SearchHitOut(BaseModel):
    """One result: the asset and its score (text relevance, similarity or fused rank;
    null when the order is not by relevance)."""

    asset: AssetOut
    score: float | None

    @classmethod
    def of(cls, hit: Hit) -> SearchHitOut:
        return cls(asset=AssetOut.of(hit.asset), score=hit.score)


class HitsOut(BaseModel):
    """Results best first, without paging (similar, by-image)."""

    items: list[SearchHitOut]

    @classmethod
    def of(cls, hits: list[Hit]) -> HitsOut:
        return cls(items=[SearchHitOut.of(hit) for hit in hits])


class SearchPageOut(BaseModel):
    """One page of a search or listing: `total` matches, this page's `items`, the requested
    `facets` (facet name → buckets, most frequent first), the cursor of the next page and
    `mode_used`, how the results were ranked (what `mode: "auto"` turned out to be)."""

    total: int
    items: list[SearchHitOut]
    facets: dict[str, list[FacetBucket]]
    next_cursor: str | None
    mode_used: RankedBy

    @classmethod
    def of(cls, page: SearchPage) -> SearchPageOut:
        return cls(
            total=page.total,
            items=[SearchHitOut.of(hit) for hit in page.hits],
            facets=page.facets,
            next_cursor=page.next_cursor,
            mode_used=page.mode_used,
        )


class NearDuplicateOut(BaseModel):
    asset: AssetOut
    phash_distance: int | None
    clip_score: float | None


class DuplicatesOut(BaseModel):
    """Exact copies (same bytes) and near duplicates (perceptual hash, CLIP) of an asset."""

    exact: list[AssetOut]
    near: list[NearDuplicateOut]
