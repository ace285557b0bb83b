"""Asset use cases: upload (plan, store, acknowledge) and read (content, previews); the
edits of existing assets are in asset_edits.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

from assetlens import layout, media
from assetlens.config import Settings
from assetlens.domain import Asset, AssetStatus, AssetType, new_id
from assetlens.errors import NotFound, ObjectNotFound, Unavailable
from assetlens.folders import FolderCatalog
from assetlens.manifests import Manifests
from assetlens.media.proofs import InProcessProver
from assetlens.metrics import NO_METRICS, Metrics
from assetlens.normalize import display_name, normalize_tags
from assetlens.ports import ObjectInfo, ObjectStore, SearchIndex, UploadProver
from assetlens.services.asset_edits import AssetEdits
from assetlens.services.asset_inputs import (
    MAX_DESCRIPTION,
    UploadForm,
    client_generation,
    inspect_upload,
    upload_source,
)
from assetlens.services.blobs import BlobService
from assetlens.services.duplicate_policy import DuplicatePolicyService
from assetlens.services.lineage import SOURCE_RELATION, LineageService
from assetlens.services.purge import Purger
from assetlens.services.upload_group import UploadGroup
from assetlens.services.visibility import IndexVisibility
from assetlens.spool import Spooled
from assetlens.workqueue import WorkQueue

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Submitted:
    """What an upload did: a new `asset`, or — under the `link` duplicate policy — the
    existing asset it duplicates (`linked`), with nothing new stored. `replayed`: the
    answer of an earlier request with the same Idempotency-Key (see services/idempotency).
    """

    asset: Asset
    linked: bool = False
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Content:
    asset: Asset
    info: ObjectInfo
    start: int
    end: int
    chunks: Iterator[bytes]


class AssetService(AssetEdits):
    def __init__(
        self,
        settings: Settings,
        store: ObjectStore,
        index: SearchIndex,
        queue: WorkQueue,
        blobs: BlobService | None = None,
        *,
        duplicate_policy: DuplicatePolicyService | None = None,
        metrics: Metrics = NO_METRICS,
        prover: UploadProver | None = None,
    ) -> None:
        self._settings = settings
        self._prover = prover or InProcessProver()
        self._duplicate_policy = duplicate_policy
        self._metrics = metrics
        self._store = store
        self._queue = queue
        self.blobs = blobs or BlobService(store)
        self.manifests = Manifests(store)
        self._purger = Purger(store, index, queue, self.manifests, self.blobs)
        # Folder references are checked against the tree in the store on every write.
        self.folders = FolderCatalog(store)
        # Child markers for the reverse lineage lookup, written with each new parent.
        self.lineage = LineageService(store, self.manifests)
        self.visibility = IndexVisibility(self.manifests, index)

    # -- create -----------------------------------------------------------------------------

    def upload(self, workspace: str, spooled: Spooled, form: UploadForm) -> Asset:
        """Validate, store durably, enqueue indexing; return the acknowledged asset (or the
        existing one it duplicates, under the `link` policy: see `submit`)."""
        return self.submit(workspace, spooled, form).asset

    def submit(self, workspace: str, spooled: Spooled, form: UploadForm) -> Submitted:
        """Validate, apply the workspace's duplicate policy, store durably, enqueue
        indexing. DuplicateRejected (409) under `reject`; the existing asset under `link`.

        The blob (and its reference marker) is written before the manifest, so a manifest
        never points at nothing; a failure in between leaves only a referenced blob without
        a manifest (`assetlens gc` releases it), and a retry makes exactly one asset.
        """
        planned = self.plan(workspace, spooled, form)
        if isinstance(planned, Submitted):
            return planned
        asset = planned
        # The reference marker comes first, so no concurrent collection can take the blob.
        try:
            self.blobs.ensure(workspace, asset.id, spooled, content_type=asset.mime)
            self._store.put_bytes(layout.sha_member_key(workspace, asset.sha256, asset.id), b"")
        except Unavailable:
            if form.asset_id is None:
                self.abandon(asset)
            # else an id planned by an idempotent request, which the request taking over
            # its claim may be writing now: the markers are not this one's alone to take
            # back; `assetlens gc` releases them if no manifest ever names the id.
            raise
        self.seal(asset)
        self.manifests.create(asset)
        self._enqueue(asset)
        self._metrics.uploaded(asset.size_bytes)
        return Submitted(asset)

    def submit_many(
        self, workspace: str, uploads: Sequence[tuple[Spooled, UploadForm]]
    ) -> list[Submitted | Exception]:
        """`submit` for files acknowledged together (`assetlens ingest`; one `put_many` per
        kind of write for the group, its syncs issued together: services/upload_group.py).
        Outcomes in order."""
        return UploadGroup(self, self._store, self._queue, self._metrics).submit(workspace, uploads)

    def plan(self, workspace: str, spooled: Spooled, form: UploadForm) -> Asset | Submitted:
        """An upload checked and its asset made, nothing of it stored yet (lineage markers
        aside); or, under the `link` duplicate policy, the existing asset it duplicates."""
        inspection, asset_type = self.inspect(spooled, form.type)
        generation = client_generation(form.prompt, form.metadata)
        if generation and generation.source_asset_id:
            self._require_source(workspace, generation.source_asset_id)
        if form.folder_id:
            self.folders.require(workspace, form.folder_id)
        duplicate = (
            None
            if self._duplicate_policy is None
            else self._duplicate_policy.apply(
                workspace,
                spooled.sha256,
                spooled.path,
                asset_type,
                inspection.mime,
                form.duplicates,
            )
        )
        if duplicate is not None:
            return Submitted(duplicate, linked=True)
        source = upload_source(form.source, generation)
        asset = Asset(
            id=form.asset_id or new_id(),
            workspace=workspace,
            name=display_name(form.name or spooled.filename or f"upload.{inspection.extension}"),
            description=(form.description or "")[:MAX_DESCRIPTION],
            type=asset_type,
            mime=inspection.mime,
            extension=inspection.extension,
            size_bytes=spooled.size,
            sha256=spooled.sha256,
            tags=normalize_tags(form.tags),
            folder_id=form.folder_id or None,
            source=source,
            generation_client=generation,
            generation_parsed=form.sidecar,
            lineage=[generation.source_asset_id]
            if generation and generation.source_asset_id
            else [],
        )
        asset.lineage_relations = {parent: SOURCE_RELATION for parent in asset.lineage}
        self.lineage.link(workspace, asset.id, asset.lineage)
        return asset

    def seal(self, asset: Asset, *, first_copy: str | None = None) -> None:
        """The fields set last, once the blob is stored: `first_copy` is an earlier copy
        not yet visible in the store (in the same upload group)."""
        asset.recompute_generation()
        asset.duplicate_of = (
            self.existing_copy(asset.workspace, asset.sha256, exclude=asset.id) or first_copy
        )

    def abandon(self, asset: Asset) -> None:
        """Take back the markers of an upload that failed before its manifest was written
        (no manifest can name this fresh, unplanned id), so a store outage mid-upload leaves nothing
        behind. Best effort: while the store is still down, `gc`'s sweep does it later."""
        steps = (
            lambda: self.blobs.release(asset.workspace, asset.id, asset.sha256),
            lambda: self._store.delete(
                layout.sha_member_key(asset.workspace, asset.sha256, asset.id)
            ),
        )
        for step in steps:
            try:
                step()
            except Unavailable as exc:
                log.warning(
                    "a marker of failed upload %s/%s is left to gc: %s",
                    asset.workspace,
                    asset.id,
                    exc.detail,
                )

    def inspect(
        self, spooled: Spooled, requested_type: str | None
    ) -> tuple[media.Inspection, AssetType]:
        """See `asset_inputs.inspect_upload`: this service's limits applied."""
        return inspect_upload(self._settings, spooled, requested_type, self._prover)

    def existing_copy(
        self, workspace: str, sha256: str, *, exclude: str | None = None
    ) -> str | None:
        """The id of a live (not trashed) asset of `workspace` with these bytes (an exact
        duplicate), from the per-content markers; the oldest wins, so every copy points at
        one original. None when there is none."""
        copies = []
        for key in self._store.list_keys(layout.sha_member_prefix(workspace, sha256)):
            other_id = key.rsplit("/", 1)[1]
            if other_id == exclude:
                continue
            try:
                other, _ = self.manifests.get(workspace, other_id)
            except NotFound:
                continue  # a failed upload's marker, or one still being written
            # A marker left behind by a version switch names an asset with other bytes now.
            if other.status is not AssetStatus.DELETED and other.sha256 == sha256:
                copies.append((other.created_at, other.id))
        return min(copies)[1] if copies else None

    # -- read -------------------------------------------------------------------------------

    def get(self, workspace: str, asset_id: str) -> Asset:
        return self.manifests.get(workspace, asset_id)[0]

    def content(self, asset: Asset, start: int = 0, end: int | None = None) -> Content:
        """The original bytes of an asset already read, optionally a range (inclusive end)."""
        key = layout.blob_key(asset.sha256)
        try:
            info = self._store.stat(key)
        except ObjectNotFound as exc:
            raise NotFound("the asset's content is missing") from exc
        last = info.size - 1 if end is None else min(end, info.size - 1)
        chunks = self._store.iter_range(key, start, last) if info.size else iter(())
        return Content(asset, info, start, last, chunks)

    def preview(self, workspace: str, asset_id: str, size: str) -> tuple[Asset, bytes | None]:
        asset = self.get(workspace, asset_id)
        key = asset.previews.get(size)
        if key is None:
            return asset, None
        try:
            return asset, self._store.get_bytes(key).data
        except ObjectNotFound:
            return asset, None

    def presigned_url(self, workspace: str, asset_id: str, expires: timedelta) -> str | None:
        asset = self.get(workspace, asset_id)
        return self._store.presigned_get_url(layout.blob_key(asset.sha256), expires)
