"""Edits of existing assets (mixed into AssetService): fields, tags, favourites, trash,
restore and purge, each a compare-and-swap of the manifest followed by a re-index."""

from __future__ import annotations

import logging

from assetlens.domain import Asset, AssetStatus, utcnow
from assetlens.errors import AssetInUse, InvalidInput, NotFound, StoreUnavailable
from assetlens.folders import FolderCatalog
from assetlens.manifests import Manifests, Mutation
from assetlens.normalize import normalize_tags
from assetlens.services.asset_inputs import AssetPatch, client_generation
from assetlens.services.lineage import LineageService, relink_source
from assetlens.services.purge import Purger
from assetlens.workqueue import WorkQueue

log = logging.getLogger(__name__)


class AssetEdits:
    """The edit half of AssetService; the attributes below are set by its constructor."""

    manifests: Manifests
    folders: FolderCatalog
    lineage: LineageService
    _purger: Purger
    _queue: WorkQueue

    def update(
        self, workspace: str, asset_id: str, patch: AssetPatch, expect_revision: int | None
    ) -> Asset:
        changes = patch.model_dump(exclude_unset=True)
        if changes.get("folder_id"):
            self.folders.require(workspace, changes["folder_id"])
        new_source = (changes.get("metadata") or {}).get("source_asset_id")
        if isinstance(new_source, str):
            self._require_source(workspace, new_source, child_id=asset_id)
            self.lineage.link(workspace, asset_id, [new_source])
        previous_source: str | None = None

        def mutate(asset: Asset) -> Asset | None:
            nonlocal previous_source
            if asset.status is AssetStatus.DELETED:
                raise NotFound("asset is in the trash; restore it first")
            if changes.get("name"):
                asset.name = changes["name"]
            if "description" in changes:
                asset.description = changes["description"] or ""
            if "tags" in changes:
                asset.tags = normalize_tags(changes["tags"] or [])
            if "folder_id" in changes:
                asset.folder_id = changes["folder_id"] or None
            if changes.get("favorite") is not None:
                asset.favorite = changes["favorite"]
            if "prompt" in changes or "metadata" in changes:
                previous_source = asset.generation.source_asset_id
                base = (
                    asset.generation_client.model_dump(exclude_defaults=True)
                    if asset.generation_client
                    else {}
                )
                base.update(changes.get("metadata") or {})
                asset.generation_client = client_generation(
                    changes.get("prompt", base.pop("prompt", None)), base
                )
                asset.recompute_generation()
                relink_source(asset, previous_source)
            return asset

        updated = self.manifests.update(
            workspace, asset_id, mutate, expect_revision=expect_revision
        )
        if previous_source and previous_source not in updated.lineage:
            self.lineage.unlink(workspace, asset_id, [previous_source])
        self._enqueue(updated)
        return updated

    def apply(self, workspace: str, asset_id: str, change: Mutation) -> Asset | None:
        """Apply `change` to one manifest by compare-and-swap (re-run on a lost race) and
        re-index it; None when `change` found nothing to do. For services that edit many
        assets (tags, folders), each asset in its own CAS update."""
        changed = False

        def tracked(asset: Asset) -> Asset | None:
            nonlocal changed
            result = change(asset)
            changed = result is not None
            return result

        updated = self.manifests.update(workspace, asset_id, tracked)
        if not changed:
            return None
        self._enqueue(updated)
        return updated

    def change_tags(
        self,
        workspace: str,
        asset_id: str,
        *,
        add: list[str] | None = None,
        remove: list[str] | None = None,
    ) -> Asset | None:
        """Add and remove tags relative to the manifest current at write time, so a
        concurrent edit of other tags or fields is never lost. None (and no new revision)
        when the asset already is that way."""
        adding = normalize_tags(add)
        removing = set(normalize_tags(remove))

        def mutate(asset: Asset) -> Asset | None:
            if asset.status is AssetStatus.DELETED:
                raise NotFound("asset is in the trash; restore it first")
            kept = [tag for tag in asset.tags if tag not in removing]
            tags = normalize_tags(kept + [tag for tag in adding if tag not in removing])
            if tags == asset.tags:
                return None
            asset.tags = tags
            return asset

        return self.apply(workspace, asset_id, mutate)

    def set_favorite(self, workspace: str, asset_id: str, favorite: bool) -> Asset | None:
        """Star or unstar an asset; None (and no new revision) when it already is."""

        def mutate(asset: Asset) -> Asset | None:
            if asset.status is AssetStatus.DELETED:
                raise NotFound("asset is in the trash; restore it first")
            if asset.favorite == favorite:
                return None
            asset.favorite = favorite
            return asset

        return self.apply(workspace, asset_id, mutate)

    def delete(self, workspace: str, asset_id: str, *, force: bool = False) -> Asset:
        """Move to the trash (kept for `trash_retention_days`, restorable). An asset with
        references (see the references service) is refused with AssetInUse unless `force`;
        checked in the same compare-and-swap that trashes it, so a new reference cannot
        slip in between."""

        def mutate(asset: Asset) -> Asset | None:
            if asset.status is AssetStatus.DELETED:
                return None
            if asset.references_count and not force:
                raise AssetInUse(asset.references_count)
            asset.references_count = 0
            asset.deleted_from = asset.status
            asset.status = AssetStatus.DELETED
            asset.deleted_at = utcnow()
            return asset

        asset = self.manifests.update(workspace, asset_id, mutate)
        self._enqueue(asset)
        return asset

    def restore(self, workspace: str, asset_id: str) -> Asset:
        def mutate(asset: Asset) -> Asset | None:
            if asset.status is not AssetStatus.DELETED:
                return None
            asset.status = asset.deleted_from or AssetStatus.PROCESSING
            asset.deleted_from = None
            asset.deleted_at = None
            return asset

        asset = self.manifests.update(workspace, asset_id, mutate)
        self._enqueue(asset)
        return asset

    def purge(self, workspace: str, asset_id: str, *, only_trashed: bool = False) -> Asset:
        """Remove the asset for good (manifest, versions, markers, index entry; blobs,
        previews and vectors no other asset uses). See services/purge.py."""
        return self._purger.purge(workspace, asset_id, only_trashed=only_trashed)

    def _require_source(
        self, workspace: str, source_id: str, *, child_id: str | None = None
    ) -> None:
        """A source asset must be another asset of this workspace (422 otherwise: the
        same answer for a missing id and another workspace's)."""
        if source_id == child_id:
            raise InvalidInput("source_asset_id cannot name the asset itself")
        try:
            self.manifests.get(workspace, source_id)
        except NotFound as exc:
            raise InvalidInput("source_asset_id names no asset of this workspace") from exc

    def _enqueue(self, asset: Asset) -> None:
        try:
            self._queue.enqueue(asset.workspace, asset.id)
        except StoreUnavailable:
            # The manifest is durable, so the asset is acknowledged; reconcile indexes it.
            log.warning(
                "could not enqueue %s/%s; reconcile will index it", asset.workspace, asset.id
            )
