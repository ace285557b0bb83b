"""A workspace's statistics: its library as the index sums it up (counts, bytes, generation
cost, storage, trash) and its usage (views, downloads, the most used assets)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from assetlens.domain import Asset, AssetStatus, utcnow
from assetlens.errors import NotFound
from assetlens.manifests import Manifests
from assetlens.ports import SearchIndex
from assetlens.services.usage import UsageService
from assetlens.stats import IndexStats
from assetlens.usage import UsageKind, UsageSummary

TOP_ASSETS = 10


@dataclass(frozen=True, slots=True)
class UsedAsset:
    """An asset and how many times it was used (viewed or downloaded)."""

    asset: Asset
    count: int


@dataclass(frozen=True, slots=True)
class WorkspaceStats:
    library: IndexStats
    usage: UsageSummary
    most_viewed: list[UsedAsset]
    most_downloaded: list[UsedAsset]
    generated_at: datetime


class StatsService:
    def __init__(self, index: SearchIndex, usage: UsageService, manifests: Manifests,
                 *, top: int = TOP_ASSETS) -> None:
        self._index = index
        self._usage = usage
        self._manifests = manifests
        self._top = top

    def get(self, workspace: str) -> WorkspaceStats:
        """Stats of `workspace` now (usage folded on demand, so every event recorded by this
        process counts; the library as indexed)."""
        library = self._index.stats(workspace)
        summary = self._usage.summary(workspace)
        return WorkspaceStats(
            library=library,
            usage=summary,
            most_viewed=self._most_used(workspace, summary, UsageKind.VIEW),
            most_downloaded=self._most_used(workspace, summary, UsageKind.DOWNLOAD),
            generated_at=utcnow(),
        )

    def _most_used(self, workspace: str, summary: UsageSummary,
                   kind: UsageKind) -> list[UsedAsset]:
        """The top assets by `kind`, read from their manifests (the names are current);
        assets since trashed or purged are left out and the next ones move up."""
        found: list[UsedAsset] = []
        # Bounded reads: a few gone assets are skipped, a long run of them ends the list.
        for asset_id, count in summary.ranked(kind)[: self._top * 3]:
            if len(found) >= self._top:
                break
            try:
                asset, _ = self._manifests.get(workspace, asset_id)
            except NotFound:
                continue
            if asset.status is not AssetStatus.DELETED:
                found.append(UsedAsset(asset=asset, count=count))
        return found
