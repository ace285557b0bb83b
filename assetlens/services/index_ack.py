"""Acknowledging an indexed queue item without losing a change that arrived meanwhile.

The queue's ack is a conditional delete: it deletes the item only if nobody re-enqueued
the asset since the claim. MinIO ignores If-Match on DELETE, so the S3 store checks the
ETag with a `stat` and then deletes unconditionally (docs/MINIO.md): an enqueue landing
between the two — a new version, a rollback, an edit, each written to the manifest first
— is deleted with the item. Its manifest then stays `processing` (or newer than the index)
with nothing queued until the next reconcile, and a `?wait=true` on that change runs out.
The manifest is the truth and is written before every such enqueue, so reading it after
the delete tells whether the asset still needs a pass.
"""

from __future__ import annotations

import logging

from assetlens.domain import AssetStatus
from assetlens.errors import NotFound, Unavailable
from assetlens.manifests import Manifests
from assetlens.workqueue import WorkItem, WorkQueue

log = logging.getLogger(__name__)


def ack_indexed(
    queue: WorkQueue, manifests: Manifests, item: WorkItem, indexed: int | None
) -> None:
    """Acknowledge `item`, whose pass left the asset at revision `indexed` (None: nothing
    to compare, the asset is gone). If the item was deleted and the manifest now is newer
    than `indexed`, or still processing (a new version came after the analysis read it),
    the asset is queued again: at worst indexed once more, never left behind."""
    if not queue.ack(item) or indexed is None:
        return
    try:
        current, _ = manifests.get(item.workspace, item.asset_id)
        if current.revision > indexed or current.status is AssetStatus.PROCESSING:
            log.info(
                "%s/%s changed while it was acknowledged (revision %d, %s); queued again",
                item.workspace,
                item.asset_id,
                current.revision,
                current.status.value,
            )
            queue.enqueue(item.workspace, item.asset_id)
    except NotFound:
        return
    except Unavailable as exc:  # the periodic reconcile finds what this could not check
        log.warning(
            "could not check %s/%s after its ack: %s", item.workspace, item.asset_id, exc.detail
        )
