"""Asset versions: upload a new version, history, download, roll back, delete, diff.

The original upload is version 1. Its record is written lazily, when the asset gets its
first new version (so uploads stay as they are). A new version:

1. references its blob (`BlobService`, ref id `{asset_id}.v{n}`),
2. takes number n with a create_only record — two concurrent uploads can never take the
   same number; the loser retries with n+1, so numbers stay gap-free and unique,
3. switches the manifest (CAS) to the highest record: sha256, size, type metadata reset,
   status processing, `version = n`; the indexer re-analyses it (previews, provenance,
   pHash, vector follow the current version).

A crash between 2 and 3 leaves a record newer than the manifest; `finish_pending` (run on
every versions call and by the scheduled maintenance) completes the switch: the highest
record wins. The highest record and the current version are never deleted, so a number
is never reused.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assetlens import layout
from assetlens.config import Settings
from assetlens.domain import Asset, AssetStatus, utcnow
from assetlens.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from assetlens.metrics import NO_METRICS, Metrics
from assetlens.ports import ObjectStore
from assetlens.services.assets import AssetService
from assetlens.services.blobs import BlobService
from assetlens.spool import Spooled
from assetlens.versions import MAX_CHANGE_DESCRIPTION, VersionRecord, VersionRecords

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class History:
    asset: Asset
    versions: list[VersionRecord]  # newest first


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    before: Any
    after: Any


class VersionService:
    def __init__(
        self,
        settings: Settings,
        store: ObjectStore,
        assets: AssetService,
        blobs: BlobService,
        *,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._metrics = metrics
        self._settings = settings
        self._store = store
        self._assets = assets
        self._blobs = blobs
        self.records = VersionRecords(store)

    # -- read -------------------------------------------------------------------------------

    def history(self, workspace: str, asset_id: str) -> History:
        """Every kept version, newest first (an asset never versioned has version 1 only)."""
        asset = self._finish_and_get(workspace, asset_id)
        records = self.records.list(workspace, asset_id) or [self._original(asset)]
        return History(asset, [self._view(asset, r) for r in reversed(records)])

    def get(self, workspace: str, asset_id: str, number: int) -> tuple[Asset, VersionRecord]:
        """The asset and one of its kept versions; NotFound for a number not kept."""
        asset = self._finish_and_get(workspace, asset_id)
        if not self.records.numbers(workspace, asset_id):
            if number != asset.version:
                raise NotFound("version not found")
            return asset, self._original(asset)
        return asset, self._view(asset, self.records.get(workspace, asset_id, number)[0])

    def content_asset(self, workspace: str, asset_id: str, number: int) -> Asset:
        """The asset as it was at version `number` (its bytes, type and size), to serve."""
        asset, record = self.get(workspace, asset_id, number)
        return asset.model_copy(
            update={
                "sha256": record.sha256,
                "size_bytes": record.size_bytes,
                "mime": record.mime,
                "extension": record.extension,
                "type": record.type,
            }
        )

    def diff(self, workspace: str, asset_id: str, before: int, after: int) -> list[FieldChange]:
        """What differs between two versions' bytes and metadata (flattened field paths)."""
        _, old = self.get(workspace, asset_id, before)
        _, new = self.get(workspace, asset_id, after)
        flat_old, flat_new = _flatten(_comparable(old)), _flatten(_comparable(new))
        return [
            FieldChange(name, flat_old.get(name), flat_new.get(name))
            for name in sorted(flat_old.keys() | flat_new.keys())
            if flat_old.get(name) != flat_new.get(name)
        ]

    # -- change -----------------------------------------------------------------------------

    def upload(
        self, workspace: str, asset_id: str, spooled: Spooled, change_description: str = ""
    ) -> tuple[Asset, VersionRecord]:
        """Store `spooled` as the asset's new current version (validated like an upload,
        and of the asset's type)."""
        description = _description(change_description)
        asset = self._writable(workspace, asset_id)
        inspection, asset_type = self._assets.inspect(spooled, asset.type.value)
        template = VersionRecord(
            number=1,
            sha256=spooled.sha256,
            size_bytes=spooled.size,
            mime=inspection.mime,
            extension=inspection.extension,
            type=asset_type,
            change_description=description,
        )
        added = self._add(
            asset,
            template,
            lambda ref: self._blobs.ensure(workspace, ref, spooled, content_type=inspection.mime),
        )
        self._metrics.uploaded(spooled.size)
        return added

    def rollback(
        self, workspace: str, asset_id: str, number: int, change_description: str = ""
    ) -> tuple[Asset, VersionRecord]:
        """A new current version whose bytes are those of version `number`."""
        description = _description(change_description) or f"rollback to version {number}"
        asset = self._writable(workspace, asset_id)
        _, source = self.get(workspace, asset_id, number)
        template = source.model_copy(
            update={"change_description": description, "rolled_back_from": number}
        )
        return self._add(
            asset, template, lambda ref: self._blobs.add_ref(workspace, ref, source.sha256)
        )

    def delete(self, workspace: str, asset_id: str, number: int) -> None:
        """Forget a kept version other than the current one; its blob goes when unused."""
        asset = self._writable(workspace, asset_id)
        numbers = self.records.numbers(workspace, asset_id)
        if number == asset.version:
            raise Conflict("the current version cannot be deleted; roll back to another first")
        if number not in numbers:
            raise NotFound("version not found")
        if number == numbers[-1]:
            raise Conflict("the newest version is still becoming current; retry shortly")
        self.forget(workspace, asset_id, number)

    # -- internals --------------------------------------------------------------------------

    def _writable(self, workspace: str, asset_id: str) -> Asset:
        asset = self._finish_and_get(workspace, asset_id)
        if asset.status is AssetStatus.DELETED:
            raise Conflict("the asset is in the trash; restore it first")
        return asset

    def _finish_and_get(self, workspace: str, asset_id: str) -> Asset:
        asset = self._assets.get(workspace, asset_id)
        return self.finish_pending(asset)

    def finish_pending(self, asset: Asset) -> Asset:
        """Complete a switch that a crash interrupted: the highest record is current."""
        numbers = self.records.numbers(asset.workspace, asset.id)
        if not numbers or numbers[-1] <= asset.version:
            return asset
        try:
            record, _ = self.records.get(asset.workspace, asset.id, numbers[-1])
        except NotFound:
            return asset
        log.info("finishing version %d of %s/%s", record.number, asset.workspace, asset.id)
        return self._switch(asset.workspace, asset.id, record)

    def _original(self, asset: Asset) -> VersionRecord:
        return VersionRecord.of_asset(asset, asset.version)

    def _view(self, asset: Asset, record: VersionRecord) -> VersionRecord:
        """The record, with the manifest's analysis when it is the current version (the
        indexer analyses the current version in the manifest)."""
        if (
            record.number != asset.version or record.sha256 != asset.sha256 or asset.media is None
        ):  # not analysed yet: what the record knows
            return record
        return record.model_copy(
            update={
                "media": asset.media,
                "phash": asset.phash,
                "generation_parsed": asset.generation_parsed,
            }
        )

    def _start_history(self, asset: Asset) -> None:
        """Write version 1's record (the manifest's current content) if there is none yet.
        The record's marker takes over from the asset-id marker of the upload."""
        if self.records.numbers(asset.workspace, asset.id):
            return
        number = asset.version
        self._blobs.add_ref(asset.workspace, layout.version_ref_id(asset.id, number), asset.sha256)
        with contextlib.suppress(PreconditionFailed):  # a concurrent first version wrote it
            self.records.create(
                asset.workspace, asset.id, VersionRecord.of_asset(asset, number, "original upload")
            )
        self._blobs.drop_ref(asset.workspace, asset.id, asset.sha256)

    def _add(
        self, asset: Asset, template: VersionRecord, reference: Callable[[str], None]
    ) -> tuple[Asset, VersionRecord]:
        """Take the next number for `template` (referencing its blob first), switch the
        manifest to it, prune old versions."""
        workspace, asset_id = asset.workspace, asset.id
        self._start_history(asset)
        while True:
            numbers = self.records.numbers(workspace, asset_id)
            number = (numbers[-1] if numbers else asset.version) + 1
            ref = layout.version_ref_id(asset_id, number)
            reference(ref)
            record = template.model_copy(update={"number": number, "created_at": utcnow()})
            try:
                self.records.create(workspace, asset_id, record)
                break
            except PreconditionFailed:
                self._lost_number(workspace, asset_id, number, template.sha256)
        try:
            updated = self._switch(workspace, asset_id, record)
        except NotFound:
            # Purged meanwhile: the version goes with it.
            self.forget(workspace, asset_id, number)
            raise
        self._prune(updated)
        return updated, self._view(updated, record)

    def _lost_number(self, workspace: str, asset_id: str, number: int, sha256: str) -> None:
        """Another upload took `number`: our marker goes unless the winner has the same
        bytes (then the marker is the winner's too)."""
        try:
            winner, _ = self.records.get(workspace, asset_id, number)
        except NotFound:
            winner = None
        if winner is None or winner.sha256 != sha256:
            self._blobs.drop_ref(workspace, layout.version_ref_id(asset_id, number), sha256)

    def _switch(self, workspace: str, asset_id: str, record: VersionRecord) -> Asset:
        """Make `record` the manifest's current version unless a newer one already is."""
        outgoing: list[Asset] = []

        def mutate(current: Asset) -> Asset | None:
            if current.version >= record.number:
                return None
            outgoing[:] = [current.model_copy(deep=True)]
            current.version = record.number
            current.sha256 = record.sha256
            current.size_bytes = record.size_bytes
            current.mime = record.mime
            current.extension = record.extension
            current.type = record.type
            current.media = None
            current.phash = None
            current.previews = {}
            current.error = None
            current.generation_parsed = None
            current.recompute_generation()
            current.duplicate_of = self._assets.existing_copy(
                workspace, record.sha256, exclude=asset_id
            )
            if current.status is AssetStatus.DELETED:
                current.deleted_from = AssetStatus.PROCESSING
            else:
                current.status = AssetStatus.PROCESSING
            return current

        updated = self._assets.apply(workspace, asset_id, mutate)
        if updated is None or not outgoing:
            return self._assets.get(workspace, asset_id)
        self._retire(outgoing[0], updated)
        return updated

    def _retire(self, old: Asset, new: Asset) -> None:
        """After a switch: keep the outgoing version's analysis in its record, and move the
        per-content markers (exact duplicates, perceptual hash bands) to the new bytes."""
        if old.media is not None:

            def snapshot(record: VersionRecord) -> VersionRecord | None:
                if record.sha256 != old.sha256 or record.media is not None:
                    return None
                return record.model_copy(
                    update={
                        "media": old.media,
                        "phash": old.phash,
                        "generation_parsed": old.generation_parsed,
                    }
                )

            self.records.update(old.workspace, old.id, old.version, snapshot)
        ws = new.workspace
        self._store.put_bytes(layout.sha_member_key(ws, new.sha256, new.id), b"")
        if old.sha256 != new.sha256:
            self._store.delete(layout.sha_member_key(ws, old.sha256, old.id))
        if old.phash:
            for band, value in enumerate(layout.phash_bands(old.phash)):
                self._store.delete(layout.phash_band_key(ws, band, value, old.id))

    def _prune(self, asset: Asset) -> None:
        """Keep at most `max_versions_kept`: the oldest go first; never the current
        version nor the highest number (a switch may still be on its way to it)."""
        numbers = self.records.numbers(asset.workspace, asset.id)
        excess = len(numbers) - self._settings.max_versions_kept
        candidates = [n for n in numbers if n not in (asset.version, numbers[-1])]
        for number in candidates[: max(excess, 0)]:
            self.forget(asset.workspace, asset.id, number)

    def forget(self, workspace: str, asset_id: str, number: int) -> None:
        """Remove a version record and release its blob (no checks: internal upkeep)."""
        try:
            record, _ = self.records.get(workspace, asset_id, number)
        except NotFound:
            return
        self.records.delete(workspace, asset_id, number)
        self._blobs.release(workspace, layout.version_ref_id(asset_id, number), record.sha256)


def _description(text: str) -> str:
    text = (text or "").strip()
    if len(text) > MAX_CHANGE_DESCRIPTION:
        raise InvalidInput(f"change_description is limited to {MAX_CHANGE_DESCRIPTION} characters")
    return text


def _comparable(record: VersionRecord) -> dict[str, Any]:
    return record.model_dump(
        mode="json", exclude={"number", "created_at", "rolled_back_from", "change_description"}
    )


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as `a.b.c` paths; lists and scalars are leaves."""
    if not isinstance(value, dict):
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, dict) and item:
            flat.update(_flatten(item, path))
        elif item not in (None, [], {}):
            flat[path] = item
    return flat
