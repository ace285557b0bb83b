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
from datetime import datetime
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
from assetlens.ports import ObjectStore
from assetlens.services.assets import AssetService

log = logging.getLogger(__name__)

MAX_REFERENCES_PER_ASSET = 1000
# How many references a 409 lists (the count says how many there are in all).
LISTED_IN_CONFLICT = 100
_KIND = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
#: What a reference document holds while it is removed: no reference (see `remove`).
_REMOVED = b'{"removed":true}'


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
    def __init__(self, store: ObjectStore, assets: AssetService,
                 max_per_asset: int = MAX_REFERENCES_PER_ASSET) -> None:
        self._store = store
        self._assets = assets
        self._max = max_per_asset

    def create(self, workspace: str, asset_id: str, body: ReferenceIn,
               created_by: str | None = None) -> Reference:
        """Record a use of a live asset. Conflict when the asset is in the trash, when the
        same use is already recorded, or when the asset has too many references."""
        self._assets.get(workspace, asset_id)  # 404 first, for a missing or foreign id
        ref = Reference(id=body.reference_id(), asset_id=asset_id, created_at=utcnow(),
                        created_by=created_by, **body.model_dump())
        key = layout.usage_ref_key(workspace, asset_id, ref.id)
        try:
            if self._store.get_bytes(key).data == _REMOVED:
                raise Conflict("this use of the asset is being removed; try again")
            raise self._already(ref.id)
        except ObjectNotFound:
            pass
        self._assets.apply(workspace, asset_id, self._take)
        try:
            self._store.put_bytes(key, ref.model_dump_json().encode(),
                                  content_type="application/json", create_only=True)
        except PreconditionFailed:
            self._release(workspace, asset_id)  # a concurrent identical request won
            raise self._already(ref.id) from None
        except Exception:
            self._release(workspace, asset_id)
            raise
        # A forced delete may have come between the count and the document: it removed the
        # documents it saw, so remove ours too rather than leave it pointing at the trash.
        if self._assets.get(workspace, asset_id).status is AssetStatus.DELETED:
            self._store.delete(key)
            raise Conflict("the asset was moved to the trash meanwhile; nothing was recorded")
        return ref

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
            if data != _REMOVED:
                found.append(Reference.model_validate_json(data))
        return sorted(found, key=lambda ref: (ref.created_at, ref.id))

    def get(self, workspace: str, asset_id: str, reference_id: str) -> Reference:
        self._assets.get(workspace, asset_id)
        return self._read(workspace, asset_id, reference_id)[0]

    def _read(self, workspace: str, asset_id: str, reference_id: str) -> tuple[Reference, str]:
        if not layout.is_reference_id(reference_id):
            raise NotFound("reference not found")
        try:
            stored = self._store.get_bytes(layout.usage_ref_key(workspace, asset_id,
                                                                reference_id))
        except ObjectNotFound as exc:
            raise NotFound("reference not found") from exc
        if stored.data == _REMOVED:
            raise NotFound("reference not found")
        return Reference.model_validate_json(stored.data), stored.info.etag

    def remove(self, workspace: str, asset_id: str, reference_id: str) -> None:
        """Forget one use. The document goes first and the count after, so a failure in
        between over-counts (the asset stays protected) rather than under-counts.

        Two concurrent removals must decrement the count once. A conditional delete does
        not ensure it on MinIO, which ignores If-Match on DELETE (the S3 store checks, then
        deletes, and a DELETE of a missing key succeeds: docs/MINIO.md), so the document is
        first replaced by a tombstone by compare-and-swap, which only one removal wins."""
        self._assets.get(workspace, asset_id)
        if not layout.is_reference_id(reference_id):
            raise NotFound("reference not found")
        key = layout.usage_ref_key(workspace, asset_id, reference_id)
        try:
            stored = self._store.get_bytes(key)
            if stored.data == _REMOVED:
                # Another removal's, or one a crash left: its count was released or stays
                # over-counted (the safe side). Cleared, so the use can be recorded again.
                self._store.delete(key, if_match=stored.info.etag)
                raise NotFound("reference not found")
            tombstone = self._store.put_bytes(key, _REMOVED, content_type="application/json",
                                              if_match=stored.info.etag)
        except (ObjectNotFound, PreconditionFailed) as exc:
            raise NotFound("reference not found") from exc
        self._release(workspace, asset_id)
        with contextlib.suppress(ObjectNotFound, PreconditionFailed):  # cleared meanwhile
            self._store.delete(key, if_match=tombstone.etag)

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
            for key in list(self._store.list_keys(layout.usage_ref_prefix(workspace,
                                                                          asset_id))):
                self._store.delete(key)
        return asset


def _shown(ref: Reference) -> dict[str, Any]:
    shown: dict[str, Any] = json.loads(ref.model_dump_json(exclude={"created_by"}))
    return shown
