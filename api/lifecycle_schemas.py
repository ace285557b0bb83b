"""Response models of the versions and trash routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from api.schemas import AssetOut
from assetlens.domain import Asset
from assetlens.services.versions import FieldChange
from assetlens.versions import VersionRecord


class VersionOut(VersionRecord):
    """One kept version: its bytes (sha256, size, type) and what analysis found in them
    (`media`, `phash`, `generation_parsed`: null until analysed)."""

    current: bool = Field(description="whether this is the asset's current version")

    @classmethod
    def of(cls, record: VersionRecord, asset: Asset) -> VersionOut:
        return cls(**record.model_dump(), current=record.number == asset.version)


class VersionsOut(BaseModel):
    """An asset's kept versions, newest first."""

    asset_id: str
    current: int
    max_kept: int
    items: list[VersionOut]


class NewVersionOut(BaseModel):
    """The version just created and the asset it made current."""

    version: VersionOut
    asset: AssetOut


class FieldChangeOut(BaseModel):
    field: str = Field(description="a flattened path such as `media.width`")
    before: Any
    after: Any

    @classmethod
    def of(cls, change: FieldChange) -> FieldChangeOut:
        return cls(field=change.field, before=change.before, after=change.after)


class VersionDiffOut(BaseModel):
    """What differs between two versions: bytes, type metadata, parsed provenance."""

    asset_id: str
    from_version: int
    to_version: int
    changes: list[FieldChangeOut]


class TrashItemOut(BaseModel):
    asset: AssetOut
    purge_at: datetime | None = Field(description="when the retention purge removes it")


class TrashPageOut(BaseModel):
    """One page of the trash, most recently trashed first."""

    total: int
    items: list[TrashItemOut]
    next_cursor: str | None
    retention_days: int


class PurgeOut(BaseModel):
    """How many trashed assets were removed for good (and how many could not be now)."""

    purged: int
    failed: int
