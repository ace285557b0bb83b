"""Response models of the references, lineage and duplicate-policy routes."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas import AssetOut
from assetlens.services.lineage import Lineage, Relative
from assetlens.services.references import Reference


class ReferencesOut(BaseModel):
    """Every recorded use of an asset, oldest first."""

    asset_id: str
    total: int
    items: list[Reference]

    @classmethod
    def of(cls, asset_id: str, refs: list[Reference]) -> ReferencesOut:
        return cls(asset_id=asset_id, total=len(refs), items=refs)


class RelativeOut(BaseModel):
    asset: AssetOut
    depth: int = Field(description="steps from the asset asked about (1 = parent or child)")
    relation: str = Field(description="how the edge was found: source, input or ingredient")
    via: str = Field(description="the id of the asset one step nearer (for drawing a tree)")

    @classmethod
    def of(cls, relative: Relative) -> RelativeOut:
        return cls(
            asset=AssetOut.of(relative.asset),
            depth=relative.depth,
            relation=relative.relation,
            via=relative.via,
        )


class LineageOut(BaseModel):
    """What an asset was made from (ancestors) and what was made from it (derivatives)."""

    asset_id: str
    depth: int
    ancestors: list[RelativeOut]
    derivatives: list[RelativeOut]

    @classmethod
    def of(cls, lineage: Lineage) -> LineageOut:
        return cls(
            asset_id=lineage.asset_id,
            depth=lineage.depth,
            ancestors=[RelativeOut.of(r) for r in lineage.ancestors],
            derivatives=[RelativeOut.of(r) for r in lineage.derivatives],
        )
