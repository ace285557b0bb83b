"""Small JSON documents in the object store, replaced by compare-and-swap."""

from __future__ import annotations

from assetlens.ports import ObjectInfo, ObjectStore


def put_document(store: ObjectStore, key: str, data: bytes, etag: str | None) -> ObjectInfo:
    """Write `data` at `key` if it is still the version read (`etag`), or create it when
    none was (`etag` None). PreconditionFailed when another writer got there first."""
    if etag is None:
        return store.put_bytes(key, data, content_type="application/json", create_only=True)
    return store.put_bytes(key, data, content_type="application/json", if_match=etag)
