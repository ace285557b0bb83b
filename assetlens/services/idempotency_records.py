"""The Idempotency-Key header, request fingerprints, and the stored record of one key (its
model, read and written as JSON in the object store); see services/idempotency.py."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from assetlens.domain import utcnow
from assetlens.errors import InvalidInput, ObjectNotFound
from assetlens.ports import ObjectStore
from assetlens.services.asset_inputs import UploadForm

MAX_KEY_LENGTH = 255
HEADER = "Idempotency-Key"


def parse_key(raw: str | None) -> str | None:
    """A client's `Idempotency-Key` header checked (1-255 printable ASCII characters), or
    None when the request has none. InvalidInput (422) otherwise."""
    if raw is None:
        return None
    if not 1 <= len(raw) <= MAX_KEY_LENGTH or not all(" " <= ch <= "~" for ch in raw):
        error = InvalidInput(f"{HEADER} must be 1-{MAX_KEY_LENGTH} printable ASCII characters")
        error.extra["errors"] = [
            {"loc": ["header", HEADER], "msg": error.detail, "type": "value_error"}
        ]
        raise error
    return raw


def upload_fingerprint(kind: str, form: UploadForm, **content: Any) -> str:
    """The SHA-256 of what a request asks for (its content and every form field), so a key
    reused for a different request is told apart from a retry."""
    fields = {
        "kind": kind,
        **content,
        "name": form.name,
        "description": form.description,
        "tags": [tag.strip() for tag in form.tags if tag.strip()],
        "folder_id": form.folder_id,
        "prompt": form.prompt,
        "metadata": form.metadata,
        "type": form.type,
        "source": form.source,
    }
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyRecord(BaseModel):
    """What the store keeps for one key: the request's fingerprint and, once done, the
    asset it made (`linked`: an existing asset answered under the `link` policy;
    `version`: the version number a new-version request made)."""

    fingerprint: str
    created_at: datetime
    claimed_at: datetime
    asset_id: str | None = None
    linked: bool = False
    version: int | None = None
    # The id the request's new asset gets, chosen before it runs: a claim left by a killed
    # request whose asset exists is completed with it rather than run again.
    planned_asset_id: str | None = None


def read_record(store: ObjectStore, record_key: str) -> tuple[IdempotencyRecord, str] | None:
    try:
        stored = store.get_bytes(record_key)
    except ObjectNotFound:
        return None
    try:
        return IdempotencyRecord.model_validate_json(stored.data), stored.info.etag
    except ValidationError:
        # Unreadable (never written by this code): as good as expired, replaced by CAS.
        epoch = datetime.fromtimestamp(0, tz=utcnow().tzinfo)
        return IdempotencyRecord(
            fingerprint="", created_at=epoch, claimed_at=epoch
        ), stored.info.etag


def dump_record(record: IdempotencyRecord) -> bytes:
    return record.model_dump_json().encode()
