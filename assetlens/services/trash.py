"""The trash: list, restore, purge one or all, and the retention purge."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from assetlens import layout
from assetlens.config import Settings
from assetlens.domain import Asset, AssetStatus, utcnow
from assetlens.errors import Conflict, NotFound
from assetlens.filters import Filters
from assetlens.ports import ObjectStore
from assetlens.query import SearchPage
from assetlens.schedule import claim_turn
from assetlens.services.assets import AssetService
from assetlens.services.search import SearchRequest, SearchService

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PurgeReport:
    purged: int
    failed: int


class TrashService:
    def __init__(
        self,
        settings: Settings,
        store: ObjectStore,
        assets: AssetService,
        search: SearchService,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._settings = settings
        self._store = store
        self._assets = assets
        self._search = search
        self._clock = clock

    @property
    def retention(self) -> timedelta:
        return timedelta(days=self._settings.trash_retention_days)

    def purge_at(self, asset: Asset) -> datetime | None:
        """When the retention purge removes a trashed asset."""
        return asset.deleted_at + self.retention if asset.deleted_at else None

    def list(self, workspace: str, limit: int = 50, cursor: str | None = None) -> SearchPage:
        """Trashed assets, most recently trashed first (through the index: a deletion is
        the last change a trashed asset takes, so `updated_at` is its deletion time)."""
        request = SearchRequest(
            filters=Filters(status=[AssetStatus.DELETED]),
            sort="updated_at:desc",
            limit=limit,
            cursor=cursor,
        )
        return self._search.search(workspace, request)

    def restore(self, workspace: str, asset_id: str) -> Asset:
        """Take an asset out of the trash (one not in the trash stays as it is)."""
        return self._assets.restore(workspace, asset_id)

    def purge(self, workspace: str, asset_id: str) -> Asset:
        """Remove one trashed asset for good (Conflict when it is not in the trash)."""
        return self._assets.purge(workspace, asset_id, only_trashed=True)

    def purge_all(self, workspace: str) -> PurgeReport:
        """Empty a workspace's trash, from the store (the source of truth)."""
        return self._purge_where(workspace, lambda _: True)

    def purge_expired(
        self, older_than: timedelta | None = None, workspace: str | None = None
    ) -> PurgeReport:
        """Purge assets trashed longer than `older_than` (default: the retention)."""
        cutoff = self._clock() - (self.retention if older_than is None else older_than)
        return self._purge_where(
            workspace, lambda asset: asset.deleted_at is not None and asset.deleted_at <= cutoff
        )

    def purge_if_due(self) -> PurgeReport | None:
        """The scheduled retention purge: one worker per interval wins it."""
        if not claim_turn(
            self._store,
            layout.PURGE_SCHEDULE_KEY,
            self._settings.trash_purge_interval_seconds,
            time.time(),
        ):
            return None
        report = self.purge_expired()
        if report.purged or report.failed:
            log.info("retention purge: %d purged, %d failed", report.purged, report.failed)
        return report

    def _purge_where(self, workspace: str | None, expired: Callable[[Asset], bool]) -> PurgeReport:
        purged = failed = 0
        for asset in self._assets.manifests.iter_all(workspace):
            if asset.status is not AssetStatus.DELETED or not expired(asset):
                continue
            try:
                self._assets.purge(asset.workspace, asset.id, only_trashed=True)
                purged += 1
            except (NotFound, Conflict):
                continue  # purged or restored by someone else meanwhile
            except Exception:
                # One asset that cannot be purged now must not stop the rest.
                log.exception("purging %s/%s failed", asset.workspace, asset.id)
                failed += 1
        return PurgeReport(purged=purged, failed=failed)
