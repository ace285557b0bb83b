"""How the S3 adapter reads a failure: which SDK and transport errors become the core's
errors (missing → ObjectNotFound, 412 → PreconditionFailed, 416 → InvalidInput) and which
are transient (connection errors, timeouts, 5xx, SlowDown), worth another attempt."""

from __future__ import annotations

from dataclasses import dataclass

from minio.error import S3Error
from urllib3.exceptions import MaxRetryError

from assetlens.errors import (
    AssetlensError,
    InvalidInput,
    ObjectNotFound,
    PreconditionFailed,
    StoreUnavailable,
)

# S3 error codes that mean "try again", whatever the HTTP status says.
TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "InternalError",
        "ServiceUnavailable",
        "RequestTimeout",
        "OperationAborted",
        "XMinioServerNotInitialized",
        "XMinioReadQuorum",
        "XMinioWriteQuorum",
        "XMinioStorageFull",
    }
)


class BucketMissing(ObjectNotFound):
    """The bucket itself is gone: nothing in it exists, and a write must create it."""


class AlreadyOwned(AssetlensError):
    """make_bucket lost a race with another creator (internal only)."""


class Transient(Exception):
    """A failure worth retrying; `reason` is the human-readable cause."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Attempts:
    """How a retried call went; lets a conditional write tell its own earlier, unanswered
    success apart from a real conflict."""

    transient_failures: int = 0


def describe_transport(exc: BaseException) -> str:
    """A short cause for a urllib3/socket failure, without URLs (they may carry queries)."""
    reason = exc.reason if isinstance(exc, MaxRetryError) and exc.reason is not None else exc
    text = str(reason)
    # urllib3 prefixes messages with the connection object's repr; keep the informative tail.
    text = text.rsplit(">: ", 1)[-1]
    if "(" in text and "url:" in text:
        text = text.split("(", 1)[0].strip()
    return f"{type(reason).__name__}: {text}"[:300]


def status_of(exc: S3Error) -> int:
    response = getattr(exc, "response", None)
    return int(getattr(response, "status", 0) or 0)


def map_s3_error(exc: S3Error, action: str, target: str, bucket: str) -> AssetlensError | None:
    """The core error for an S3 error response, or None when it is worth retrying."""
    code = exc.code or ""
    status = status_of(exc)
    if code == "NoSuchBucket":
        return BucketMissing(f"bucket {bucket!r} does not exist")
    if code == "NoSuchKey":
        return ObjectNotFound(f"no object{target}")
    if code == "PreconditionFailed" or status == 412:
        return PreconditionFailed(f"precondition failed for{target}")
    if code == "InvalidRange" or status == 416:
        return InvalidInput(f"byte range not satisfiable for{target}")
    if code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists") and action == "create bucket":
        return AlreadyOwned(code)
    if code in TRANSIENT_CODES or status >= 500 or status in (408, 429):
        return None
    if status == 404:
        return ObjectNotFound(f"no object{target} ({code})")
    # Credentials, permissions, bad requests: retrying will not help and the client
    # cannot fix it; report the store as unavailable with the server's reason.
    return StoreUnavailable(
        f"object store refused to {action}{target}: {code or 'error'} (HTTP {status})"
    )
