"""Signed-link tokens: a compact claim set and its HMAC-SHA256, both base64url.

A token is `<claims>.<mac>`. The claims name the workspace, the asset, the version the link
was made for, what it serves (the content or a preview size), the Content-Disposition and
the expiry; the MAC covers all of them, so changing any byte of the token breaks it.
Tokens are opaque to clients but not secret-carrying: the workspace and asset id inside are
readable by whoever holds the link, and the secret itself never leaves the server.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass
from enum import StrEnum

from assetlens import layout
from assetlens.errors import InvalidInput, ObjectNotFound, PreconditionFailed, StoreUnavailable
from assetlens.ports import ObjectStore

FORMAT = "1"
# Domain separation: a MAC made for anything else with the same secret never verifies here.
_CONTEXT = b"assetlens signed link\n"
_MAX_TOKEN = 512
_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_CLAIM_FIELDS = 7


class Disposition(StrEnum):
    INLINE = "inline"
    ATTACHMENT = "attachment"


class Rendition(StrEnum):
    """What a link serves: the original bytes or one preview size."""

    CONTENT = "content"
    SMALL = "small"
    MEDIUM = "medium"


@dataclass(frozen=True, slots=True)
class LinkClaims:
    workspace: str
    asset_id: str
    version: int
    rendition: Rendition
    disposition: Disposition
    expires: int  # Unix seconds

    def encode(self) -> bytes:
        fields = (
            FORMAT,
            self.workspace,
            self.asset_id,
            str(self.version),
            self.rendition.value,
            self.disposition.value,
            str(self.expires),
        )
        return "|".join(fields).encode("ascii")

    @classmethod
    def decode(cls, raw: bytes) -> LinkClaims | None:
        """The claims of an authenticated payload, or None when it is not one of ours."""
        try:
            fields = raw.decode("ascii").split("|")
        except UnicodeDecodeError:
            return None
        if len(fields) != _CLAIM_FIELDS or fields[0] != FORMAT:
            return None
        _, workspace, asset_id, version, rendition, disposition, expires = fields
        if not (version.isdigit() and expires.isdigit() and layout.is_asset_id(asset_id)):
            return None
        try:
            return cls(
                layout.check_workspace(workspace),
                asset_id,
                int(version),
                Rendition(rendition),
                Disposition(disposition),
                int(expires),
            )
        except (ValueError, InvalidInput):
            return None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes | None:
    """Strict base64url: only the canonical spelling decodes (no padding, no spare bits),
    so no two tokens carry the same bytes."""
    if not _B64URL.fullmatch(text):
        return None
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return data if _b64(data) == text else None


def _mac(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, _CONTEXT + payload, hashlib.sha256).digest()


def sign(secret: bytes, claims: LinkClaims) -> str:
    """The token for `claims`."""
    payload = claims.encode()
    return f"{_b64(payload)}.{_b64(_mac(secret, payload))}"


def verify(secret: bytes, token: str) -> LinkClaims | None:
    """The claims of a token whose MAC checks (constant-time compare), else None. Expiry
    is the caller's to check: this only says the server made the token."""
    if len(token) > _MAX_TOKEN or token.count(".") != 1:
        return None
    payload_text, mac_text = token.split(".")
    payload, mac = _unb64(payload_text), _unb64(mac_text)
    if payload is None or mac is None:
        return None
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        return None
    return LinkClaims.decode(payload)


class SigningSecret:
    """The deployment's link-signing secret: the configured one, else one generated once
    and kept in the store (`create_only`, so processes starting together agree: the one
    that loses the race reads the winner's). Read once per process, then cached."""

    def __init__(self, store: ObjectStore, configured: bytes | None = None) -> None:
        self._store = store
        self._value = configured
        self._lock = threading.Lock()

    def get(self) -> bytes:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._load_or_create()
        return self._value

    def _load_or_create(self) -> bytes:
        for _ in range(3):
            try:
                return self._parse(self._store.get_bytes(layout.signing_secret_key()).data)
            except ObjectNotFound:
                pass
            fresh = secrets.token_bytes(32)
            try:
                self._store.put_bytes(
                    layout.signing_secret_key(),
                    fresh.hex().encode("ascii"),
                    content_type="text/plain",
                    create_only=True,
                )
                return fresh
            except PreconditionFailed:
                continue  # another process won the race: read its secret
        raise StoreUnavailable("the signing secret could not be read or created")

    @staticmethod
    def _parse(data: bytes) -> bytes:
        try:
            value = bytes.fromhex(data.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            value = b""
        if len(value) < 32:
            # Never sign with a damaged secret; an operator must remove or fix the object.
            raise StoreUnavailable("the stored signing secret is damaged")
        return value
