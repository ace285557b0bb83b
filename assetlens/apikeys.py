"""API keys: one workspace each, stored by their SHA-256 (never the key itself).

Store layout (assetlens.layout): the record `system/api-keys/{sha256}.json` and, per key,
a marker `system/api-keys-by-workspace/{workspace}/{id}` holding the SHA-256, so a
workspace's keys can be listed and revoked by id. A key is checked against its record on
every request (no in-process cache), so a revocation holds at once in every process.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from assetlens import layout
from assetlens.access import Caller, Scope
from assetlens.domain import utcnow
from assetlens.errors import (
    InvalidInput,
    NotFound,
    ObjectNotFound,
    PreconditionFailed,
    Unauthorized,
)
from assetlens.ports import ObjectStore

KEY_PREFIX = "alk_"
MAX_KEY_CHARS = 128
MAX_NAME_CHARS = 100
# Store reads in flight while listing a workspace's keys.
_LIST_READERS = 8
_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]"
)


def key_hash(key: str) -> str:
    """The SHA-256 a key is stored under."""
    # Keys carry 256 random bits, so a fast hash is enough: no offline guessing is feasible.
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What may be shown about a key: everything but the key."""

    id: str
    name: str
    workspace: str
    scopes: frozenset[Scope]
    created_at: datetime
    hint: str
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly made key: the only moment the plain key exists."""

    key: str
    info: KeyInfo


def _info(record: dict[str, Any], digest: str) -> KeyInfo:
    revoked = record.get("revoked_at")
    return KeyInfo(
        id=str(record.get("id") or digest[:16]),
        name=str(record.get("name", "")),
        workspace=str(record["workspace"]),
        # Keys made before scopes existed could do everything: they stay admin keys.
        scopes=frozenset(Scope(s) for s in record.get("scopes", [Scope.ADMIN])),
        created_at=datetime.fromisoformat(record["created_at"]),
        hint=str(record.get("hint", "")),
        revoked_at=datetime.fromisoformat(revoked) if revoked else None,
    )


def _clean_name(name: str) -> str:
    # Labels show up in listings and terminals: no control, bidi or invisible characters.
    cleaned = " ".join(_INVISIBLE.sub(" ", name).split())
    if len(cleaned) > MAX_NAME_CHARS:
        raise InvalidInput(f"key names are at most {MAX_NAME_CHARS} characters")
    return cleaned


class ApiKeys:
    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def create(
        self, workspace: str, name: str = "", scopes: frozenset[Scope] = frozenset({Scope.ADMIN})
    ) -> str:
        """A new key for `workspace`; the only time the plain key exists."""
        return self.issue(workspace, name, scopes).key

    def issue(
        self, workspace: str, name: str = "", scopes: frozenset[Scope] = frozenset({Scope.ADMIN})
    ) -> NewKey:
        """A new key with what may be shown about it."""
        layout.check_workspace(workspace)
        if not scopes:
            raise InvalidInput("a key needs at least one scope: read, write or admin")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        digest = key_hash(key)
        record = {
            "workspace": workspace,
            "name": _clean_name(name),
            "created_at": utcnow().isoformat(),
            "hint": key[:8],
            "id": digest[:16],
            "scopes": sorted(scopes),
            "listed": True,
        }
        # The marker first: a key never works without being listed (and so revocable).
        self._store.put_bytes(
            layout.api_key_marker_key(workspace, digest[:16]),
            digest.encode(),
            content_type="text/plain",
            create_only=True,
        )
        self._store.put_bytes(
            layout.api_key_key(digest),
            json.dumps(record).encode(),
            content_type="application/json",
            create_only=True,
        )
        return NewKey(key, _info(record, digest))

    def list(self, workspace: str) -> list[KeyInfo]:
        """The workspace's keys, revoked ones included, oldest first. Two reads per key
        (marker, record), made a few at a time: a workspace may hold hundreds."""
        markers = list(self._store.list_keys(layout.api_key_marker_prefix(workspace)))
        with ThreadPoolExecutor(
            max_workers=_LIST_READERS, thread_name_prefix="assetlens-keys"
        ) as pool:
            infos = list(pool.map(lambda marker: self._listed(workspace, marker), markers))
        found = [info for info in infos if info is not None]
        return sorted(found, key=lambda info: (info.created_at, info.id))

    def _listed(self, workspace: str, marker: str) -> KeyInfo | None:
        try:
            digest = self._store.get_bytes(marker).data.decode()
            record = self._record(digest)[0]
        except (ObjectNotFound, InvalidInput, UnicodeDecodeError):
            return None  # a marker whose record was never written (a crash in `issue`)
        return _info(record, digest) if record.get("workspace") == workspace else None

    def revoke(self, workspace: str, key_id: str) -> KeyInfo:
        """Mark a key revoked (idempotent); NotFound for another workspace's or no key."""
        if not layout.is_key_id(key_id):
            raise NotFound("API key not found")
        try:
            digest = self._store.get_bytes(layout.api_key_marker_key(workspace, key_id)).data
            digest_hex = digest.decode()
            while True:
                record, etag = self._record(digest_hex)
                if record.get("workspace") != workspace:
                    raise NotFound("API key not found")
                if record.get("revoked_at"):
                    return _info(record, digest_hex)
                record["revoked_at"] = utcnow().isoformat()
                try:
                    self._store.put_bytes(
                        layout.api_key_key(digest_hex),
                        json.dumps(record).encode(),
                        content_type="application/json",
                        if_match=etag,
                    )
                except PreconditionFailed:
                    continue  # changed meanwhile (another revoke, a migration): re-read
                return _info(record, digest_hex)
        except (ObjectNotFound, InvalidInput, UnicodeDecodeError) as exc:
            raise NotFound("API key not found") from exc

    def workspace_for(self, key: str) -> str:
        """The workspace a key belongs to; Unauthorized for unknown or malformed keys."""
        return self.identify(key).workspace

    def identify(self, key: str) -> Caller:
        """The caller a key stands for; Unauthorized for unknown, malformed or revoked keys."""
        if not key.startswith(KEY_PREFIX) or len(key) > MAX_KEY_CHARS:
            raise Unauthorized("invalid API key")
        return self.caller_for_hash(key_hash(key))

    def caller_for_hash(self, digest: str) -> Caller:
        """The caller of the key stored under `digest` (sessions keep only the hash)."""
        try:
            record, etag = self._record(digest)
        except (ObjectNotFound, InvalidInput) as exc:
            raise Unauthorized("invalid API key") from exc
        if record.get("revoked_at"):
            raise Unauthorized("API key revoked")
        info = _info(record, digest)
        if not record.get("listed"):
            self._list_legacy(record, digest, etag)
        return Caller(workspace=info.workspace, scopes=info.scopes, key_id=info.id)

    def _record(self, digest: str) -> tuple[dict[str, Any], str]:
        stored = self._store.get_bytes(layout.api_key_key(digest))
        record: dict[str, Any] = json.loads(stored.data)
        return record, stored.info.etag

    def _list_legacy(self, record: dict[str, Any], digest: str, etag: str) -> None:
        # Keys made before listing existed get their marker on first use. A lost race means
        # another process did it first, or the record changed (revoked): both are fine.
        with contextlib.suppress(PreconditionFailed):
            self._store.put_bytes(
                layout.api_key_marker_key(record["workspace"], digest[:16]),
                digest.encode(),
                content_type="text/plain",
                create_only=True,
            )
        upgraded = {"id": digest[:16], "scopes": [Scope.ADMIN], **record, "listed": True}
        with contextlib.suppress(PreconditionFailed):
            self._store.put_bytes(
                layout.api_key_key(digest),
                json.dumps(upgraded).encode(),
                content_type="application/json",
                if_match=etag,
            )
