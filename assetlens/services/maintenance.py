"""Store-wide upkeep of versions and blob references: the one-time backfill of reference
markers, finishing interrupted version switches, and the `assetlens gc` sweep."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from assetlens import layout
from assetlens.errors import NotFound
from assetlens.manifests import Manifests
from assetlens.ports import ObjectStore
from assetlens.schedule import claim_turn
from assetlens.services.blobs import BlobService, BlobUse, SweepReport
from assetlens.services.versions import VersionService

log = logging.getLogger(__name__)

MAINTENANCE_INTERVAL_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class VersionRepair:
    finished: int
    orphans: int


class Maintenance:
    def __init__(
        self,
        store: ObjectStore,
        manifests: Manifests,
        versions: VersionService,
        blobs: BlobService,
        *,
        interval_seconds: float = MAINTENANCE_INTERVAL_SECONDS,
    ) -> None:
        self._store = store
        self._manifests = manifests
        self._versions = versions
        self._blobs = blobs
        self._interval = interval_seconds

    def run_if_due(self) -> None:
        """The scheduled upkeep (one worker per interval): backfill once, then repairs."""
        if not claim_turn(
            self._store, layout.MAINTENANCE_SCHEDULE_KEY, self._interval, time.time()
        ):
            return
        written = self.backfill_refs()
        if written:
            log.info("wrote %d blob reference markers for an existing library", written)
        repair = self.finish_versions()
        if repair.finished or repair.orphans:
            log.info(
                "versions: %d switches finished, %d orphaned records removed",
                repair.finished,
                repair.orphans,
            )

    def backfill_refs(self) -> int:
        """Reference markers for every manifest and version record (libraries from before
        markers). Does nothing once done."""
        if self._store.exists(layout.BLOB_REFS_COMPLETE_KEY):
            return 0
        return self._blobs.backfill(self._uses())

    def _uses(self) -> Iterator[BlobUse]:
        versioned: dict[tuple[str, str], list[int]] = defaultdict(list)
        for workspace, asset_id, number in self._versions.records.iter_all():
            versioned[(workspace, asset_id)].append(number)
        for asset in self._manifests.iter_all():
            numbers = versioned.get((asset.workspace, asset.id))
            if not numbers:
                yield BlobUse(asset.workspace, asset.id, asset.sha256)
                continue
            for number in numbers:
                try:
                    record, _ = self._versions.records.get(asset.workspace, asset.id, number)
                except NotFound:
                    continue
                yield BlobUse(
                    asset.workspace, layout.version_ref_id(asset.id, number), record.sha256
                )

    def finish_versions(self) -> VersionRepair:
        """Complete version switches a crash interrupted; remove the records of assets
        whose manifest is gone (an interrupted purge)."""
        highest: dict[tuple[str, str], int] = {}
        for workspace, asset_id, number in self._versions.records.iter_all():
            key = (workspace, asset_id)
            highest[key] = max(highest.get(key, 0), number)
        finished = orphans = 0
        for (workspace, asset_id), number in highest.items():
            try:
                asset, _ = self._manifests.get(workspace, asset_id)
            except NotFound:
                for orphan in self._versions.records.numbers(workspace, asset_id):
                    self._versions.forget(workspace, asset_id, orphan)
                    orphans += 1
                continue
            if asset.version < number:
                self._versions.finish_pending(asset)
                finished += 1
        return VersionRepair(finished=finished, orphans=orphans)

    def in_use(self, sha256: str, workspace: str, ref_id: str) -> bool:
        """Whether a reference marker still stands for a real use of the blob."""
        asset_id, _, suffix = ref_id.partition(".v")
        try:
            asset, _ = self._manifests.get(workspace, asset_id)
        except NotFound:
            return False
        if not suffix:
            return asset.sha256 == sha256 and not self._versions.records.numbers(
                workspace, asset_id
            )
        try:
            record, _ = self._versions.records.get(workspace, asset_id, int(suffix))
        except NotFound:
            return False
        return record.sha256 == sha256

    def gc(self, older_than: timedelta = timedelta(hours=1)) -> tuple[VersionRepair, SweepReport]:
        """`assetlens gc`: repair versions, then release references whose use is gone and
        clear collection marks of crashed collectors (both older than `older_than`)."""
        repair = self.finish_versions()
        return repair, self._blobs.sweep(self.in_use, older_than)
