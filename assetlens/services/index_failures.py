"""What happens to an asset the indexer gives up on: the failure it records on the manifest
(status `failed`, `error`), and the retry that puts failed assets back in the queue."""

from __future__ import annotations

from dataclasses import dataclass

from assetlens.domain import Asset, AssetStatus
from assetlens.errors import AssetlensError, NotFound
from assetlens.manifests import Manifests
from assetlens.workqueue import WorkQueue


@dataclass(frozen=True, slots=True)
class Failure:
    """What one work item raised, and at which step (analysis, embedding, indexing…).
    `revision` is the manifest revision the failing pass worked on (the one it read, or
    wrote when it marked the asset ready): the only one its failure may be recorded on.
    None when the pass read no manifest."""

    stage: str
    error: Exception
    revision: int | None = None

    @property
    def reason(self) -> str:
        """The asset's `error`: short, and without the exception's text unless it is one of
        ours (others' can carry server paths)."""
        if isinstance(self.error, AssetlensError):
            return f"{self.stage} failed: {self.error.detail}"[:200]
        return f"{self.stage} failed ({type(self.error).__name__}); see the indexer log"


def mark_failed(
    manifests: Manifests, workspace: str, asset_id: str, reason: str, *, revision: int | None
) -> Asset | None:
    """Record that indexing gave up on the asset at `revision` (a trashed one is failed once
    restored); the asset as marked, or None when it is gone or has moved past `revision`.

    A newer manifest — a new version, a rollback, an edit or a trash that came while the
    failing pass ran — is left as it is: its change queued the asset again with a fresh
    set of attempts, and marking it would keep a new version from ever being analysed.
    `revision=None` (the caller read no manifest) marks whatever is stored."""

    def mutate(current: Asset) -> Asset | None:
        if current.error == reason and AssetStatus.FAILED in (current.status, current.deleted_from):
            return None
        if revision is not None and current.revision != revision:
            raise _MovedOn
        if current.status is AssetStatus.DELETED:
            current.deleted_from = AssetStatus.FAILED
        else:
            current.status = AssetStatus.FAILED
        current.error = reason
        return current

    try:
        return manifests.update(workspace, asset_id, mutate)
    except (NotFound, _MovedOn):
        return None


class _MovedOn(Exception):
    """The manifest is newer than the failing pass's: not this failure's to mark."""


def retry_failed(manifests: Manifests, queue: WorkQueue) -> int:
    """Put every failed asset back to processing (its error cleared) and queue it: the
    worker analyses and indexes it again with a fresh set of attempts. Returns how many
    this call changed (an asset a concurrent retry changed first is that one's)."""
    retried = 0
    for asset in manifests.iter_all():
        if asset.status is not AssetStatus.FAILED:
            continue
        changed = False

        def mutate(current: Asset) -> Asset | None:
            # Called again on each lost CAS race: only the last call's answer was written.
            nonlocal changed
            changed = current.status is AssetStatus.FAILED
            if not changed:
                return None
            current.status = AssetStatus.PROCESSING
            current.error = None
            return current

        try:
            manifests.update(asset.workspace, asset.id, mutate)
        except NotFound:
            continue
        if changed:
            queue.enqueue(asset.workspace, asset.id)
            retried += 1
    return retried
