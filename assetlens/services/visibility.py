"""Read-your-writes for search: whether an asset's latest revision is searchable yet, so a
client that asked to wait (`?wait=true`) is answered once its change shows in results."""

from __future__ import annotations

from assetlens.domain import Asset, AssetStatus
from assetlens.errors import NotFound, Unavailable
from assetlens.manifests import Manifests
from assetlens.ports import SearchIndex


class IndexVisibility:
    def __init__(self, manifests: Manifests, index: SearchIndex) -> None:
        self._manifests = manifests
        self._index = index

    def indexed(self, workspace: str, asset_id: str) -> tuple[Asset, bool]:
        """The latest manifest, and whether the index holds its revision with processing
        finished (then made visible to search). An index outage only means "not yet"."""
        asset, _ = self._manifests.get(workspace, asset_id)
        return asset, self._index_holds(asset) and self._make_visible()

    def unindexed(self, workspace: str, asset_ids: list[str]) -> list[str]:
        """Those of `asset_ids` whose latest revision is not searchable yet (see `indexed`),
        with one index refresh for them all; an asset gone meanwhile is not waited for."""
        pending, held = [], False
        for asset_id in asset_ids:
            try:
                asset, _ = self._manifests.get(workspace, asset_id)
            except NotFound:
                continue
            if self._index_holds(asset):
                held = True
            else:
                pending.append(asset_id)
        if held and not self._make_visible():
            return list(asset_ids)
        return pending

    def _index_holds(self, asset: Asset) -> bool:
        """Whether the index has this revision of `asset` with processing finished."""
        if asset.status is AssetStatus.PROCESSING:
            return False
        try:
            doc = self._index.get(asset.workspace, asset.id)
        except Unavailable:
            return False
        return doc is not None and doc.asset.revision >= asset.revision

    def _make_visible(self) -> bool:
        """Refresh near-real-time backends so indexed writes are searchable now."""
        try:
            self._index.refresh()
        except Unavailable:
            return False
        return True
