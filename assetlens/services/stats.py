"""A workspace's statistics: its library as the index sums it up (counts, bytes, generation
cost, storage, trash) and its usage (views, downloads, the most used assets).

The index holds each asset's current content only, so the blobs that only older kept
versions hold are added to the storage figure from the version records in the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from assetlens import layout
from assetlens.domain import Asset, AssetStatus, utcnow
from assetlens.errors import NotFound
from assetlens.manifests import Manifests
from assetlens.ports import ObjectStore, SearchIndex
from assetlens.services.usage import UsageService
from assetlens.stats import IndexStats
from assetlens.usage import UsageKind, UsageSummary
from assetlens.versions import VersionRecords

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
    def __init__(
        self,
        index: SearchIndex,
        usage: UsageService,
        manifests: Manifests,
        store: ObjectStore,
        *,
        top: int = TOP_ASSETS,
    ) -> None:
        self._index = index
        self._usage = usage
        self._manifests = manifests
        self._store = store
        self._versions = VersionRecords(store)
        self._top = top

    def get(self, workspace: str) -> WorkspaceStats:
        """Stats of `workspace` now (usage folded on demand, so every event recorded by this
        process counts; the library as indexed)."""
        library = self._index.stats(workspace)
        blobs, size = self._kept_version_storage(workspace)
        library = library.model_copy(
            update={
                "storage_blobs": library.storage_blobs + blobs,
                "storage_bytes": library.storage_bytes + size,
            }
        )
        summary = self._usage.summary(workspace)
        return WorkspaceStats(
            library=library,
            usage=summary,
            most_viewed=self._most_used(workspace, summary, UsageKind.VIEW),
            most_downloaded=self._most_used(workspace, summary, UsageKind.DOWNLOAD),
            generated_at=utcnow(),
        )

    def _kept_version_storage(self, workspace: str) -> tuple[int, int]:
        """(blobs, bytes) held only by kept versions: distinct contents of the workspace's
        version records that no asset (live or trashed) has as its current content."""
        sizes: dict[str, int] = {}
        for record in self._versions.iter_workspace(workspace):
            sizes.setdefault(record.sha256, record.size_bytes)
        extra = [size for sha, size in sizes.items() if not self._is_current(workspace, sha)]
        return len(extra), sum(extra)

    def _is_current(self, workspace: str, sha256: str) -> bool:
        """Some asset of `workspace` has these bytes as its current content (so the index
        counts them); a marker without a manifest is a failed upload's and does not count."""
        for key in self._store.list_keys(layout.sha_member_prefix(workspace, sha256)):
            try:
                asset, _ = self._manifests.get(workspace, key.rsplit("/", 1)[1])
            except NotFound:
                continue
            if asset.sha256 == sha256:  # not a marker a version switch left behind
                return True
        return False

    def _most_used(self, workspace: str, summary: UsageSummary, kind: UsageKind) -> list[UsedAsset]:
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
