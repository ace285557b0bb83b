"""Removing an asset for good: its manifest, version records, per-content markers, index
entry, and its references on blobs (each blob collected when nothing else uses it)."""

from __future__ import annotations

import contextlib
import logging

from assetlens import layout
from assetlens.domain import Asset, AssetStatus
from assetlens.errors import Conflict, PreconditionFailed, Unavailable
from assetlens.manifests import Manifests
from assetlens.ports import ObjectStore, SearchIndex
from assetlens.services.blobs import BlobService
from assetlens.versions import VersionRecords
from assetlens.workqueue import WorkQueue

log = logging.getLogger(__name__)


class Purger:
    def __init__(
        self,
        store: ObjectStore,
        index: SearchIndex,
        queue: WorkQueue,
        manifests: Manifests,
        blobs: BlobService,
    ) -> None:
        self._store = store
        self._index = index
        self._queue = queue
        self._manifests = manifests
        self._blobs = blobs
        self._records = VersionRecords(store)

    def purge(self, workspace: str, asset_id: str, *, only_trashed: bool = False) -> Asset:
        """Remove the asset and everything that is only its; other assets sharing its bytes
        keep them. NotFound for a missing (or another workspace's) asset; with
        `only_trashed`, Conflict unless it is in the trash. Returns the removed manifest."""
        asset = self._remove_manifest(workspace, asset_id, only_trashed)
        # The manifest is gone: no request can restore, edit or version the asset now, so
        # the rest is only cleanup (repeated by `assetlens gc` if this process dies here).
        try:
            self._index.remove(workspace, [asset_id])
            self._index.refresh()  # gone from listings (the trash) as soon as we answer
        except Unavailable:
            log.warning("index entry of purged %s/%s left for reconcile", workspace, asset_id)
        # A worker indexing the asset right now could write its entry back; the queued
        # item makes a worker find the manifest gone and remove the entry again.
        with contextlib.suppress(Unavailable):
            self._queue.enqueue(workspace, asset_id)
        shas, phashes = {asset.sha256}, {asset.phash} if asset.phash else set()
        for record in self._records.list(workspace, asset_id):
            self._records.delete(workspace, asset_id, record.number)
            self._blobs.release(
                workspace, layout.version_ref_id(asset_id, record.number), record.sha256
            )
            shas.add(record.sha256)
            if record.phash:
                phashes.add(record.phash)
        self._blobs.release(workspace, asset_id, asset.sha256)
        for sha in shas:
            self._store.delete(layout.sha_member_key(workspace, sha, asset_id))
        for phash in phashes:
            for band, value in enumerate(layout.phash_bands(phash)):
                self._store.delete(layout.phash_band_key(workspace, band, value, asset_id))
        # Its uses elsewhere and the markers naming its derivatives go with it (markers of
        # its own parents stay: readers ignore a marker whose child is gone).
        for prefix in (
            layout.usage_ref_prefix(workspace, asset_id),
            layout.lineage_child_prefix(workspace, asset_id),
        ):
            for key in list(self._store.list_keys(prefix)):
                self._store.delete(key)
        log.info("purged %s/%s", workspace, asset_id)
        return asset

    def _remove_manifest(self, workspace: str, asset_id: str, only_trashed: bool) -> Asset:
        """Delete the manifest by compare-and-swap, so a concurrent restore either lands
        first (and is seen: Conflict) or finds the asset gone (`Manifests.remove`: also on
        MinIO, whose conditional delete is a check, then a delete)."""
        while True:
            asset, etag = self._manifests.get(workspace, asset_id)
            if only_trashed and asset.status is not AssetStatus.DELETED:
                raise Conflict("only assets in the trash can be purged; delete it first")
            try:
                self._manifests.remove(workspace, asset_id, etag)
            except PreconditionFailed:
                continue
            return asset
