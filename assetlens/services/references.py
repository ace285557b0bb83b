"""Where an asset is used: references from other systems' resources (a story's cover, a
page's illustration), and the delete guard they imply.

One small JSON document per reference under `layout.usage_ref_key`, plus a count on the
asset's manifest. Both a new reference and a delete go through a compare-and-swap of the
manifest (the count goes up only on a live asset; the asset goes to the trash only while
the count is zero), so no interleaving leaves a reference to a trashed asset.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assetlens import layout
from assetlens.domain import Asset, AssetStatus, utcnow
from assetlens.errors import (
    AssetInUse,
    Conflict,
    NotFound,
    ObjectNotFound,
    PreconditionFailed,
)
from assetlens.ports import ObjectStore, StoredObject
from assetlens.services.assets import AssetService

log = logging.getLogger(__name__)

MAX_REFERENCES_PER_ASSET = 1000
# How many references a 409 lists (the count says how many there are in all).
LISTED_IN_CONFLICT = 100
_KIND = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
#: How a reference document being removed starts: no reference (see `remove`). Older code
#: wrote exactly `{"removed":true}`; this code adds `"held":true` and the time (`_Tombstone`).
_TOMBSTONE = b'{"removed":true'
#: How long a removal's tombstone is left to its owner before another request for that use
#: takes it over (the owner taken for crashed): far longer than the two round trips it
#: takes the owner to finish, so a live one is never raced in practice (docs/MINIO.md).
STALE_TOMBSTONE = timedelta(minutes=10)
_ATTEMPTS = 3  # reads of a reference document a new recording makes before a 409


class ReferenceIn(BaseModel):
    """A use of an asset: which resource (type and id) uses it, and how."""

    model_config = ConfigDict(extra="forbid")

    resource_type: str = Field(max_length=64, description="e.g. story, page, project")
    resource_id: str = Field(min_length=1, max_length=256)
    usage_type: str = Field(max_length=64, description="e.g. cover, illustration, thumbnail")

    @field_validator("resource_type", "usage_type")
    @classmethod
    def _kind(cls, value: str) -> str:
        value = value.strip().lower()
        if not _KIND.fullmatch(value):
            raise ValueError("1-64 characters of a-z, 0-9, '_', '.', '-', starting with a letter")
        return value

    @field_validator("resource_id")
    @classmethod
    def _resource_id(cls, value: str) -> str:
        value = unicodedata.normalize("NFC", value).strip()
        if not value:
            raise ValueError("must not be blank")
        if any(unicodedata.category(c) in _UNPRINTABLE for c in value):
            raise ValueError("control, format and unassigned characters are not allowed")
        return value

    def reference_id(self) -> str:
        """The same use recorded twice has the same id (so it is recorded once)."""
        text = "\0".join((self.resource_type, self.resource_id, self.usage_type))
        return hashlib.sha256(text.encode()).hexdigest()[:32]


class Reference(ReferenceIn):
    """A recorded reference, as stored and shown."""

    id: str
    asset_id: str
    created_at: datetime
    # The API key that recorded it (its id, never the key).
    created_by: str | None = None


class ReferenceService:
    def __init__(
        self,
        store: ObjectStore,
        assets: AssetService,
        max_per_asset: int = MAX_REFERENCES_PER_ASSET,
        stale_after: timedelta = STALE_TOMBSTONE,
    ) -> None:
        self._store = store
        self._assets = assets
        self._max = max_per_asset
        self._stale_after = stale_after

    def create(
        self, workspace: str, asset_id: str, body: ReferenceIn, created_by: str | None = None
    ) -> Reference:
        """Record a use of a live asset. Conflict when the asset is in the trash, when the
        same use is already recorded, or when the asset has too many references.

        A tombstone of that use (a removal: see `remove`) is replaced by the new document
        by compare-and-swap once it is stale, its owner taken for crashed; a tombstone that
        still holds the use's count passes it to the new document (one party wins the swap,
        so the count is neither released nor taken twice). A fresh one answers 409."""
        asset = self._assets.get(workspace, asset_id)  # 404 first, for a missing or foreign id
        ref = Reference(
            id=body.reference_id(),
            asset_id=asset_id,
            created_at=utcnow(),
            created_by=created_by,
            **body.model_dump(),
        )
        key = layout.usage_ref_key(workspace, asset_id, ref.id)
        data = ref.model_dump_json().encode()
        for _ in range(_ATTEMPTS):
            try:
                stored: StoredObject | None = self._store.get_bytes(key)
            except ObjectNotFound:
                stored = None
            tomb = _Tombstone.of(stored) if stored is not None else None
            if stored is not None and tomb is None:
                raise self._already(ref.id)
            if tomb is not None and tomb.held and not tomb.stale(self._stale_after):
                raise Conflict("this use of the asset is being removed; try again")
            carried = tomb is not None and tomb.held
            if carried and asset.status is AssetStatus.DELETED:
                raise Conflict("the asset is in the trash; a reference to it is refused")
            if not carried:
                self._assets.apply(workspace, asset_id, self._take)
            try:
                if stored is None:
                    self._store.put_bytes(
                        key, data, content_type="application/json", create_only=True
                    )
                else:
                    self._store.put_bytes(
                        key, data, content_type="application/json", if_match=stored.info.etag
                    )
            except PreconditionFailed:
                if not carried:
                    self._release(workspace, asset_id)
                continue  # another request wrote it first: read again
            except Exception:
                # A carried count stays with whichever the key holds (the write may have
                # landed): nothing to give back.
                if not carried:
                    self._release(workspace, asset_id)
                raise
            # A forced delete may have come between the count and the document: it removed
            # the documents it saw, so remove ours too rather than leave it pointing at the
            # trash.
            if self._assets.get(workspace, asset_id).status is AssetStatus.DELETED:
                self._store.delete(key)
                raise Conflict("the asset was moved to the trash meanwhile; nothing was recorded")
            return ref
        raise Conflict("this use of the asset changed meanwhile; try again")

    def _take(self, asset: Asset) -> Asset:
        if asset.status is AssetStatus.DELETED:
            raise Conflict("the asset is in the trash; a reference to it is refused")
        if asset.references_count >= self._max:
            raise Conflict(f"an asset can have at most {self._max} references")
        asset.references_count += 1
        return asset

    def _release(self, workspace: str, asset_id: str) -> None:
        def drop(asset: Asset) -> Asset | None:
            if asset.references_count <= 0:
                return None
            asset.references_count -= 1
            return asset

        with contextlib.suppress(NotFound):  # purged meanwhile: nothing left to count
            self._assets.apply(workspace, asset_id, drop)

    @staticmethod
    def _already(reference_id: str) -> Conflict:
        error = Conflict("this use of the asset is already recorded")
        error.extra["reference_id"] = reference_id
        return error

    def list_references(self, workspace: str, asset_id: str) -> list[Reference]:
        """Every recorded use of the asset, oldest first."""
        self._assets.get(workspace, asset_id)
        return self._documents(workspace, asset_id)

    def _documents(self, workspace: str, asset_id: str) -> list[Reference]:
        found = []
        for key in self._store.list_keys(layout.usage_ref_prefix(workspace, asset_id)):
            try:
                data = self._store.get_bytes(key).data
            except ObjectNotFound:
                continue  # removed while listing
            if not data.startswith(_TOMBSTONE):
                found.append(Reference.model_validate_json(data))
        return sorted(found, key=lambda ref: (ref.created_at, ref.id))

    def get(self, workspace: str, asset_id: str, reference_id: str) -> Reference:
        self._assets.get(workspace, asset_id)
        return self._read(workspace, asset_id, reference_id)[0]

    def _read(self, workspace: str, asset_id: str, reference_id: str) -> tuple[Reference, str]:
        if not layout.is_reference_id(reference_id):
            raise NotFound("reference not found")
        try:
            stored = self._store.get_bytes(layout.usage_ref_key(workspace, asset_id, reference_id))
        except ObjectNotFound as exc:
            raise NotFound("reference not found") from exc
        if stored.data.startswith(_TOMBSTONE):
            raise NotFound("reference not found")
        return Reference.model_validate_json(stored.data), stored.info.etag

    def remove(self, workspace: str, asset_id: str, reference_id: str) -> None:
        """Forget one use: its document becomes a tombstone, which is deleted, and the count
        is released after (a failure in between over-counts: the asset stays protected).

        Two concurrent removals must release the count once. A conditional delete cannot
        decide it on MinIO, which ignores If-Match on DELETE (the S3 store checks, then
        deletes, and a DELETE of a missing key succeeds: docs/MINIO.md), so the document is
        first replaced by a tombstone by compare-and-swap, which only one removal wins. The
        tombstone holds the count until it is gone: the winner releases it only when its
        own conditional delete succeeded, and a request that finds the tombstone stale (its
        owner crashed) takes it over by compare-and-swap, this one with a tombstone of its
        own, a new recording with the new document (`create`). A removal that finds a
        fresh tombstone answers 404 and leaves it to its owner."""
        self._assets.get(workspace, asset_id)
        if not layout.is_reference_id(reference_id):
            raise NotFound("reference not found")
        key = layout.usage_ref_key(workspace, asset_id, reference_id)
        try:
            stored = self._store.get_bytes(key)
        except ObjectNotFound as exc:
            raise NotFound("reference not found") from exc
        tomb = _Tombstone.of(stored)
        if tomb is not None:
            self._finish(workspace, asset_id, key, tomb)
            raise NotFound("reference not found")
        try:
            mine = self._store.put_bytes(
                key, _Tombstone.new(), content_type="application/json", if_match=stored.info.etag
            )
        except (ObjectNotFound, PreconditionFailed) as exc:
            raise NotFound("reference not found") from exc
        self._drop(workspace, asset_id, key, mine.etag)

    def _finish(self, workspace: str, asset_id: str, key: str, tomb: _Tombstone) -> None:
        """Finish the removal another request left as `tomb`, if it is ours to finish."""
        if not tomb.held:
            # Older code's: it released the count before deleting, so a crash left it
            # released or over-counted (the safe side); cleared, as that code did.
            with contextlib.suppress(ObjectNotFound, PreconditionFailed):
                self._store.delete(key, if_match=tomb.etag)
            return
        if not tomb.stale(self._stale_after):
            return  # its owner finishes it
        try:
            mine = self._store.put_bytes(
                key, _Tombstone.new(), content_type="application/json", if_match=tomb.etag
            )
        except (ObjectNotFound, PreconditionFailed):
            return  # taken over or finished meanwhile by another request
        self._drop(workspace, asset_id, key, mine.etag)

    def _drop(self, workspace: str, asset_id: str, key: str, etag: str) -> None:
        """Delete this request's tombstone, then release the count it held, unless another
        request took the tombstone over meanwhile (the count is then that one's)."""
        try:
            self._store.delete(key, if_match=etag)
        except (ObjectNotFound, PreconditionFailed):
            return
        self._release(workspace, asset_id)

    def delete_asset(self, workspace: str, asset_id: str, *, force: bool = False) -> Asset:
        """Move an asset to the trash. An asset in use answers 409 listing its references,
        unless `force`, which removes them."""
        try:
            asset = self._assets.delete(workspace, asset_id, force=force)
        except AssetInUse as exc:
            refs = self._documents(workspace, asset_id)
            exc.extra["references"] = [_shown(ref) for ref in refs[:LISTED_IN_CONFLICT]]
            raise
        if force:
            for key in list(self._store.list_keys(layout.usage_ref_prefix(workspace, asset_id))):
                self._store.delete(key)
        return asset


@dataclass(frozen=True, slots=True)
class _Tombstone:
    """A reference document being removed. `held`: it holds the use's count (this code's:
    `{"removed":true,"held":true,"at":...}`); False for older code's, which released the
    count while the tombstone was still there."""

    etag: str
    held: bool
    at: datetime | None

    @staticmethod
    def new() -> bytes:
        body = {"removed": True, "held": True, "at": utcnow().isoformat()}
        return json.dumps(body, separators=(",", ":")).encode()

    @staticmethod
    def of(stored: StoredObject) -> _Tombstone | None:
        """The tombstone `stored` holds, or None for a reference document."""
        if not stored.data.startswith(_TOMBSTONE):
            return None
        try:
            body = json.loads(stored.data)
            at = datetime.fromisoformat(body["at"]) if body.get("held") is True else None
        except (ValueError, KeyError, TypeError):
            at = None
        if at is not None and at.tzinfo is None:
            at = None  # not this code's
        return _Tombstone(stored.info.etag, held=at is not None, at=at)

    def stale(self, after: timedelta) -> bool:
        """Whether its owner is taken for crashed (clocks: the servers', kept in step)."""
        return self.at is None or utcnow() - self.at >= after


def _shown(ref: Reference) -> dict[str, Any]:
    shown: dict[str, Any] = json.loads(ref.model_dump_json(exclude={"created_by"}))
    return shown
