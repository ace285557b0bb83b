"""Response models for assets inside other resources' bodies (folder contents…)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from assetlens.domain import Asset, AssetStatus
from assetlens.query import Hit


class PublicAsset(Asset):
    """An asset as the API shows it: the workspace is implied by the caller's key."""

    workspace: str = Field(default="", exclude=True)
    deleted_from: AssetStatus | None = Field(default=None, exclude=True)


class AssetHit(BaseModel):
    asset: PublicAsset
    score: float | None = None

    @classmethod
    def of(cls, hit: Hit) -> AssetHit:
        return cls(asset=PublicAsset.model_validate(hit.asset.model_dump()), score=hit.score)
