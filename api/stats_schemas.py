"""Response model of GET /v1/stats."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from api.schemas import AssetOut
from assetlens.services.stats import UsedAsset, WorkspaceStats
from assetlens.stats import GroupTotals
from assetlens.usage import Channel, UsageKind, UsageSummary

# Days of per-day usage shown (the summary keeps more).
USAGE_DAYS = 30


class TypeCountOut(BaseModel):
    type: str
    count: int
    bytes: int


class AssetTotalsOut(BaseModel):
    """Assets not in the trash: how many and their bytes (copies counted each time)."""

    count: int
    bytes: int
    by_type: list[TypeCountOut]


class CostGroupOut(BaseModel):
    """The summed generation cost of the assets sharing one value; `assets` counts them
    all, `priced_assets` those with a cost."""

    value: str
    cost: float
    assets: int
    priced_assets: int

    @classmethod
    def of(cls, group: GroupTotals) -> CostGroupOut:
        return cls(
            value=group.value, cost=group.cost, assets=group.assets, priced_assets=group.priced
        )


class CostOut(BaseModel):
    """Generation cost (`generation.cost`, in whatever unit clients give it) of the assets
    not in the trash: the total and by type, model, provider and creation month (UTC)."""

    total: float
    priced_assets: int
    by_type: list[CostGroupOut]
    by_model: list[CostGroupOut]
    by_provider: list[CostGroupOut]
    by_month: list[CostGroupOut]


class StorageOut(BaseModel):
    """Bytes stored for this workspace's assets, trash included, each distinct file
    (sha256) counted once however many assets share it."""

    blobs: int
    bytes: int


class TrashOut(BaseModel):
    count: int
    bytes: int


class KindCountsOut(BaseModel):
    views: int = 0
    downloads: int = 0


class ChannelsOut(BaseModel):
    """Views and downloads by how the content was reached."""

    api: KindCountsOut
    ui: KindCountsOut
    signed_link: KindCountsOut


class DayUsageOut(KindCountsOut):
    day: str = Field(description="UTC day, YYYY-MM-DD")


class UsedAssetOut(BaseModel):
    asset: AssetOut
    count: int

    @classmethod
    def of(cls, used: UsedAsset) -> UsedAssetOut:
        return cls(asset=AssetOut.of(used.asset), count=used.count)


class UsageOut(BaseModel):
    """Counted uses of asset content: a view is a content GET served inline, a download
    one served as an attachment (ranges count once, from their first byte; thumbnails never
    count)."""

    views: int
    downloads: int
    by_channel: ChannelsOut
    by_day: list[DayUsageOut] = Field(
        description=f"the last {USAGE_DAYS} days with use, newest first"
    )
    most_viewed: list[UsedAssetOut]
    most_downloaded: list[UsedAssetOut]
    updated_at: datetime | None = Field(description="when events were last folded in")

    @classmethod
    def of(cls, stats: WorkspaceStats) -> UsageOut:
        summary = stats.usage
        cutoff = (stats.generated_at - timedelta(days=USAGE_DAYS)).strftime("%Y-%m-%d")
        days = [
            DayUsageOut(day=day, views=counts.get(UsageKind.VIEW.value, 0),
                        downloads=counts.get(UsageKind.DOWNLOAD.value, 0))
            for day, counts in sorted(summary.days.items(), reverse=True) if day > cutoff
        ]  # fmt: skip
        return cls(
            views=summary.total(UsageKind.VIEW),
            downloads=summary.total(UsageKind.DOWNLOAD),
            by_channel=ChannelsOut(**{c.value: _channel(summary, c) for c in Channel}),
            by_day=days,
            most_viewed=[UsedAssetOut.of(u) for u in stats.most_viewed],
            most_downloaded=[UsedAssetOut.of(u) for u in stats.most_downloaded],
            updated_at=summary.updated_at,
        )


def _channel(summary: UsageSummary, channel: Channel) -> KindCountsOut:
    return KindCountsOut(
        views=summary.channels.get(UsageKind.VIEW.value, {}).get(channel.value, 0),
        downloads=summary.channels.get(UsageKind.DOWNLOAD.value, {}).get(channel.value, 0),
    )


class StatsOut(BaseModel):
    """A workspace's library and its use. Library figures come from the search index (an
    upload counts once indexed); usage is current to the request."""

    generated_at: datetime
    assets: AssetTotalsOut
    cost: CostOut
    storage: StorageOut
    trash: TrashOut
    usage: UsageOut

    @classmethod
    def of(cls, stats: WorkspaceStats) -> StatsOut:
        lib = stats.library
        return cls(
            generated_at=stats.generated_at,
            assets=AssetTotalsOut(
                count=lib.live.assets, bytes=lib.live.bytes,
                by_type=[TypeCountOut(type=g.value, count=g.assets, bytes=g.bytes)
                         for g in lib.by_type],
            ),
            cost=CostOut(
                total=lib.live.cost, priced_assets=lib.live.priced,
                by_type=[CostGroupOut.of(g) for g in lib.by_type],
                by_model=[CostGroupOut.of(g) for g in lib.by_model],
                by_provider=[CostGroupOut.of(g) for g in lib.by_provider],
                by_month=[CostGroupOut.of(g) for g in lib.by_month],
            ),
            storage=StorageOut(blobs=lib.storage_blobs, bytes=lib.storage_bytes),
            trash=TrashOut(count=lib.trash.assets, bytes=lib.trash.bytes),
            usage=UsageOut.of(stats),
        )  # fmt: skip
