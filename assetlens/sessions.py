"""Browser sessions: an API key exchanged for a server-side session behind a cookie.

A session id is 256 random bits, handed out once (in the cookie) and stored only as its
SHA-256: `system/sessions/{sha256(id)}.json` holds the key's hash, the workspace, the CSRF
token and a fixed expiry. Every use re-reads the key's record, so the key's current scopes
apply and a revoked key ends its sessions at once.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from assetlens import layout
from assetlens.access import Caller
from assetlens.apikeys import ApiKeys, key_hash
from assetlens.domain import utcnow
from assetlens.errors import ObjectNotFound, Unauthorized
from assetlens.ports import ObjectStore

_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")  # token_urlsafe(32)
_EXPIRED = "session expired or signed out: sign in again"


@dataclass(frozen=True, slots=True)
class Session:
    """A live session: who it acts for and the token its writes must echo."""

    caller: Caller
    csrf_token: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SignIn:
    """A new session and its id; the id goes into the cookie and nowhere else."""

    session_id: str
    session: Session


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class Sessions:
    def __init__(self, store: ObjectStore, keys: ApiKeys, ttl: timedelta) -> None:
        self._store = store
        self._keys = keys
        self._ttl = ttl

    def sign_in(self, api_key: str, *, replacing: str | None = None) -> SignIn:
        """A fresh session for a valid key (Unauthorized otherwise). `replacing`, the
        cookie the browser still sent, is signed out: each sign-in gets a new id."""
        caller = self._keys.identify(api_key)
        session_id = secrets.token_urlsafe(32)
        now = utcnow()
        record = {
            "key_sha256": key_hash(api_key),
            "key_id": caller.key_id,
            "workspace": caller.workspace,
            "csrf_token": secrets.token_urlsafe(32),
            "created_at": now.isoformat(),
            "expires_at": (now + self._ttl).isoformat(),
        }
        self._store.put_bytes(
            layout.session_key(_digest(session_id)),
            json.dumps(record).encode(),
            content_type="application/json",
            create_only=True,
        )
        if replacing:
            self.sign_out(replacing)
        return SignIn(session_id, self._session(record, caller))

    def resolve(self, session_id: str) -> Session:
        """The live session behind a cookie value; Unauthorized when unknown, expired,
        signed out or its key revoked."""
        if not _SESSION_ID.fullmatch(session_id):
            raise Unauthorized(_EXPIRED)
        key = layout.session_key(_digest(session_id))
        try:
            record: dict[str, Any] = json.loads(self._store.get_bytes(key).data)
        except ObjectNotFound as exc:
            raise Unauthorized(_EXPIRED) from exc
        if datetime.fromisoformat(record["expires_at"]) <= utcnow():
            self._store.delete(key)
            raise Unauthorized(_EXPIRED)
        try:
            caller = self._keys.caller_for_hash(record["key_sha256"])
        except Unauthorized:
            self._store.delete(key)  # revoked key: its sessions die with it
            raise
        return self._session(record, caller)

    def sign_out(self, session_id: str) -> None:
        """End a session (a no-op for an unknown one)."""
        if _SESSION_ID.fullmatch(session_id):
            self._store.delete(layout.session_key(_digest(session_id)))

    def purge_expired(self) -> int:
        """Delete expired sessions nobody came back for; returns how many."""
        now = utcnow()
        purged = 0
        for key in self._store.list_keys(layout.SESSION_PREFIX):
            try:
                record = json.loads(self._store.get_bytes(key).data)
            except ObjectNotFound:
                continue
            if datetime.fromisoformat(record["expires_at"]) <= now:
                self._store.delete(key)
                purged += 1
        return purged

    @staticmethod
    def _session(record: dict[str, Any], caller: Caller) -> Session:
        return Session(
            caller=replace(caller, via_session=True),
            csrf_token=str(record["csrf_token"]),
            created_at=datetime.fromisoformat(record["created_at"]),
            expires_at=datetime.fromisoformat(record["expires_at"]),
        )
