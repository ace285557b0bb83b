"""Version records in the object store: one small JSON document per kept version of an
asset (`layout.version_key`), created with create_only so a number is taken exactly once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from pydantic import BaseModel, Field

from assetlens import layout
from assetlens.domain import Asset, AssetType, Generation, MediaInfo, utcnow
from assetlens.errors import NotFound, ObjectNotFound, PreconditionFailed
from assetlens.ports import ObjectStore

MAX_CHANGE_DESCRIPTION = 2000


class VersionRecord(BaseModel):
    """One kept version: its bytes (by sha256) and what analysis found in them."""

    number: int = Field(ge=1)
    sha256: str
    size_bytes: int
    mime: str
    extension: str
    type: AssetType
    media: MediaInfo | None = None
    phash: str | None = None
    generation_parsed: Generation | None = None
    change_description: str = ""
    rolled_back_from: int | None = None
    created_at: datetime = Field(default_factory=utcnow)

    @classmethod
    def of_asset(cls, asset: Asset, number: int, change_description: str = "") -> VersionRecord:
        """The record of what the manifest holds now (its current content)."""
        return cls(
            number=number,
            sha256=asset.sha256,
            size_bytes=asset.size_bytes,
            mime=asset.mime,
            extension=asset.extension,
            type=asset.type,
            media=asset.media,
            phash=asset.phash,
            generation_parsed=asset.generation_parsed,
            change_description=change_description,
            created_at=asset.created_at,
        )


class VersionRecords:
    """Reads and writes the version records of assets."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def numbers(self, workspace: str, asset_id: str) -> list[int]:
        """The kept version numbers of an asset, ascending (from the keys alone)."""
        found = []
        for key in self._store.list_keys(layout.version_prefix(workspace, asset_id)):
            parsed = layout.parse_version_key(key)
            if parsed is not None:
                found.append(parsed[2])
        return sorted(found)

    def list(self, workspace: str, asset_id: str) -> list[VersionRecord]:
        records = []
        for number in self.numbers(workspace, asset_id):
            try:
                records.append(self.get(workspace, asset_id, number)[0])
            except NotFound:
                continue  # deleted while listing
        return records

    def get(self, workspace: str, asset_id: str, number: int) -> tuple[VersionRecord, str]:
        """The record and its ETag; NotFound when the asset has no such kept version."""
        if number < 1 or not layout.is_asset_id(asset_id):
            raise NotFound("version not found")
        try:
            stored = self._store.get_bytes(layout.version_key(workspace, asset_id, number))
        except ObjectNotFound as exc:
            raise NotFound("version not found") from exc
        return VersionRecord.model_validate_json(stored.data), stored.info.etag

    def create(self, workspace: str, asset_id: str, record: VersionRecord) -> None:
        """Take the record's number; PreconditionFailed when it is taken already."""
        self._store.put_bytes(
            layout.version_key(workspace, asset_id, record.number),
            record.model_dump_json().encode(),
            content_type="application/json",
            create_only=True,
        )

    def update(
        self,
        workspace: str,
        asset_id: str,
        number: int,
        mutate: Callable[[VersionRecord], VersionRecord | None],
    ) -> None:
        """Compare-and-swap `mutate` onto a record; a missing record is left missing."""
        while True:
            try:
                record, etag = self.get(workspace, asset_id, number)
            except NotFound:
                return
            changed = mutate(record)
            if changed is None:
                return
            try:
                self._store.put_bytes(
                    layout.version_key(workspace, asset_id, number),
                    changed.model_dump_json().encode(),
                    content_type="application/json",
                    if_match=etag,
                )
                return
            except PreconditionFailed:
                continue

    def delete(self, workspace: str, asset_id: str, number: int) -> None:
        self._store.delete(layout.version_key(workspace, asset_id, number))

    def iter_workspace(self, workspace: str) -> Iterator[VersionRecord]:
        """Every kept version record of a workspace's assets (records deleted meanwhile are
        skipped)."""
        for key in self._store.list_keys(layout.version_workspace_prefix(workspace)):
            parsed = layout.parse_version_key(key)
            if parsed is None or parsed[0] != workspace:
                continue
            try:
                yield self.get(*parsed)[0]
            except NotFound:
                continue

    def iter_all(self) -> Iterator[tuple[str, str, int]]:
        """(workspace, asset id, number) of every record in the store."""
        for key in self._store.list_keys(layout.VERSIONS_PREFIX):
            parsed = layout.parse_version_key(key)
            if parsed is not None:
                yield parsed
