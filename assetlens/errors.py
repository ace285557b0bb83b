"""Domain errors. The API maps each to one problem+json status; adapters raise these, never
their library's own exceptions, so the core stays backend-neutral."""

from __future__ import annotations

from typing import Any


class AssetlensError(Exception):
    """Base class. `status` is the HTTP status the API answers with."""

    status = 500
    title = "Internal error"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers: dict[str, str] = {}
        # Extra members of the problem+json body (e.g. a 409's `references`).
        self.extra: dict[str, Any] = {}


class NotFound(AssetlensError):
    status = 404
    title = "Not found"


class Conflict(AssetlensError):
    status = 409
    title = "Conflict"


class AssetInUse(Conflict):
    """The asset is referenced elsewhere, so it may not go to the trash (unless forced)."""

    def __init__(self, count: int) -> None:
        super().__init__(
            f"the asset is used by {count} reference(s); remove them first, "
            "or delete with ?force=true to remove them too"
        )
        self.extra["references_count"] = count


class PreconditionFailed(AssetlensError):
    """A conditional write lost the race (If-Match mismatch, create-only key exists)."""

    status = 412
    title = "Precondition failed"


class InvalidInput(AssetlensError):
    status = 422
    title = "Invalid input"


class RequestTimeout(AssetlensError):
    status = 408
    title = "Request body incomplete"


class PayloadTooLarge(AssetlensError):
    status = 413
    title = "Payload too large"


class UnsupportedMediaType(AssetlensError):
    status = 415
    title = "Unsupported media type"


class Unauthorized(AssetlensError):
    status = 401
    title = "Unauthorized"


class Forbidden(AssetlensError):
    status = 403
    title = "Forbidden"


class Unavailable(AssetlensError):
    """A backend (object store, search index, embedding model) cannot serve right now."""

    status = 503
    title = "Service unavailable"

    def __init__(self, detail: str = "", retry_after: int = 5) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class ObjectNotFound(NotFound):
    """A key is missing in the object store."""


class StoreUnavailable(Unavailable):
    """The object store cannot be reached or keeps failing."""


class IndexUnavailable(Unavailable):
    """The search index cannot be reached or keeps failing."""


class EmbeddingUnavailable(Unavailable):
    """No embedding model can be loaded (no weights on this machine)."""


class TooManyRequests(AssetlensError):
    """A rate limit or a concurrency limit says no for now; retry after `retry_after`
    seconds."""

    status = 429
    title = "Too many requests"

    def __init__(self, detail: str = "", retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)
        self.headers["Retry-After"] = str(self.retry_after)
