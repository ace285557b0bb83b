"""API keys: one workspace each, stored by their SHA-256 (never the key itself)."""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time

from assetlens import layout
from assetlens.access import Caller, Scope
from assetlens.domain import utcnow
from assetlens.errors import ObjectNotFound, Unauthorized
from assetlens.ports import ObjectStore

KEY_PREFIX = "alk_"
_CACHE_SECONDS = 30.0


def _hash(key: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough: no offline guessing is feasible.
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._cache: dict[str, tuple[Caller, float]] = {}
        self._lock = threading.Lock()

    def create(self, workspace: str, name: str = "",
               scopes: frozenset[Scope] = frozenset({Scope.ADMIN})) -> str:
        """A new key for `workspace`; the only time the plain key exists."""
        layout.check_workspace(workspace)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        record = {"workspace": workspace, "name": name, "created_at": utcnow().isoformat(),
                  "hint": key[:8], "id": _hash(key)[:16], "scopes": sorted(scopes)}
        self._store.put_bytes(layout.api_key_key(_hash(key)), json.dumps(record).encode(),
                              content_type="application/json", create_only=True)
        return key

    def workspace_for(self, key: str) -> str:
        """The workspace a key belongs to; Unauthorized for unknown or malformed keys."""
        return self.identify(key).workspace

    def identify(self, key: str) -> Caller:
        """The caller a key stands for; Unauthorized for unknown or malformed keys."""
        if not key.startswith(KEY_PREFIX) or len(key) > 128:
            raise Unauthorized("invalid API key")
        digest = _hash(key)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(digest)
        if cached and cached[1] > now:
            return cached[0]
        try:
            record = json.loads(self._store.get_bytes(layout.api_key_key(digest)).data)
        except ObjectNotFound as exc:
            raise Unauthorized("invalid API key") from exc
        # Keys made before scopes existed could do everything: they stay admin keys.
        scopes = frozenset(Scope(s) for s in record.get("scopes", [Scope.ADMIN]))
        caller = Caller(workspace=str(record["workspace"]), scopes=scopes,
                        key_id=str(record.get("id", digest[:16])))
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (caller, now + _CACHE_SECONDS)
        return caller
