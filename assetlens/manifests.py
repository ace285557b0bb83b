"""Asset manifests in the object store: one JSON document per asset, updated by CAS."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from assetlens import layout
from assetlens.domain import Asset, utcnow
from assetlens.errors import AssetlensError, NotFound, ObjectNotFound, PreconditionFailed
from assetlens.ports import ObjectStore

Mutation = Callable[[Asset], Asset | None]

#: What a manifest being removed holds until its delete: read as a missing manifest. See
#: `Manifests.remove`.
TOMBSTONE = b'{"removed":true}'


class Manifests:
    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def get(self, workspace: str, asset_id: str) -> tuple[Asset, str]:
        """The asset and its store ETag; NotFound (never another workspace's) otherwise."""
        if not layout.is_asset_id(asset_id):
            raise NotFound("asset not found")
        try:
            stored = self._store.get_bytes(layout.manifest_key(workspace, asset_id))
        except ObjectNotFound as exc:
            raise NotFound("asset not found") from exc
        if stored.data == TOMBSTONE:
            # Gone to everyone; one seen here may be what an interrupted `remove` left, and
            # nothing writes over a tombstone, so its delete is finished here.
            with contextlib.suppress(AssetlensError):
                self._store.delete(stored.info.key, if_match=stored.info.etag)
            raise NotFound("asset not found")
        return Asset.model_validate_json(stored.data), stored.info.etag

    def create(self, asset: Asset) -> str:
        return self._store.put_bytes(
            layout.manifest_key(asset.workspace, asset.id),
            asset.model_dump_json().encode(),
            content_type="application/json",
            create_only=True,
        ).etag

    def update(
        self, workspace: str, asset_id: str, mutate: Mutation, *, expect_revision: int | None = None
    ) -> Asset:
        """Apply `mutate` to the current manifest by compare-and-swap, retrying lost races.

        `mutate` returns the new asset, or None for no change. With `expect_revision` the
        caller's view must still be current (HTTP If-Match), else PreconditionFailed.
        """
        while True:
            asset, etag = self.get(workspace, asset_id)
            if expect_revision is not None and asset.revision != expect_revision:
                raise PreconditionFailed("the asset changed since it was read (ETag mismatch)")
            changed = mutate(asset.model_copy(deep=True))
            if changed is None:
                return asset
            changed.revision = asset.revision + 1
            changed.updated_at = utcnow()
            try:
                self._store.put_bytes(
                    layout.manifest_key(workspace, asset_id),
                    changed.model_dump_json().encode(),
                    content_type="application/json",
                    if_match=etag,
                )
            except PreconditionFailed:
                if expect_revision is not None:
                    raise
                continue
            return changed

    def delete(self, workspace: str, asset_id: str) -> None:
        self._store.delete(layout.manifest_key(workspace, asset_id))

    def remove(self, workspace: str, asset_id: str, etag: str) -> None:
        """Delete the manifest if it is still the one read at `etag` (PreconditionFailed if
        not), never taking a change made after that read with it.

        A conditional delete would not do: MinIO ignores If-Match on DELETE, so the S3
        store checks the ETag, then deletes (docs/MINIO.md), and a change written between
        the two — a restore, acknowledged — would be deleted. A conditional PUT is atomic
        everywhere, so the manifest is first replaced by a tombstone (a change that came
        first makes this fail), which every reader takes for a missing manifest: no update
        writes after it, and the delete of the tombstone can take nothing with it. A crash
        in between leaves the tombstone, a manifest gone to everyone, which the next `get`
        of it deletes (the periodic reconcile reads every manifest)."""
        key = layout.manifest_key(workspace, asset_id)
        self._store.put_bytes(key, TOMBSTONE, content_type="application/json", if_match=etag)
        self._store.delete(key)

    def iter_keys(self, workspace: str | None = None) -> Iterator[tuple[str, str]]:
        for key in self._store.list_keys(layout.manifest_prefix(workspace)):
            parsed = layout.parse_manifest_key(key)
            if parsed:
                yield parsed

    def iter_all(self, workspace: str | None = None) -> Iterator[Asset]:
        for ws, asset_id in self.iter_keys(workspace):
            try:
                yield self.get(ws, asset_id)[0]
            except NotFound:
                continue  # deleted while listing
