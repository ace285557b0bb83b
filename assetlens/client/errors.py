"""What the client raises: a `ProblemError` subclass for each problem+json answer of the
server (RFC 9457), `ConnectionFailed` when the server cannot be reached after retries."""

from __future__ import annotations

from typing import Any

import httpx


class ClientError(Exception):
    """Base class of everything the Assetlens client raises."""


class ConnectionFailed(ClientError):
    """The server could not be reached (or the connection broke) after the retries."""


class ProblemError(ClientError):
    """The server answered an error: its problem details as attributes."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type: str = "about:blank",
        errors: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
        headers: httpx.Headers | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type
        self.errors = errors or []
        self.extra = extra or {}
        self.headers = headers or httpx.Headers()

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked to wait before retrying (Retry-After), if any."""
        return retry_after_seconds(self.headers)


class BadRequestError(ProblemError):
    """400: malformed request framing."""


class AuthError(ProblemError):
    """401 (missing or unknown API key) or 403 (the key lacks the scope)."""


class NotFoundError(ProblemError):
    """404: no such object in this workspace (another workspace's looks the same)."""


class ConflictError(ProblemError):
    """409: the change conflicts with the current state (in use, duplicate, in progress)."""


class PreconditionFailedError(ProblemError):
    """412: the object changed since it was read (If-Match)."""


class PayloadTooLargeError(ProblemError):
    """413: over a size limit."""


class ValidationError(ProblemError):
    """415 or 422: the request's content or fields are not acceptable (`errors` names
    the fields, where the server says)."""


class RateLimitedError(ProblemError):
    """429: too many requests (Retry-After)."""


class UnavailableError(ProblemError):
    """503: a backend is unavailable (Retry-After); retried before it is raised."""


_BY_STATUS: dict[int, type[ProblemError]] = {
    400: BadRequestError,
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    409: ConflictError,
    412: PreconditionFailedError,
    413: PayloadTooLargeError,
    415: ValidationError,
    422: ValidationError,
    429: RateLimitedError,
    503: UnavailableError,
}


def problem_from(response: httpx.Response) -> ProblemError:
    """The typed exception for an error `response` (its body read already)."""
    status = response.status_code
    body: dict[str, Any] = {}
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        body = parsed
    known = {"type", "title", "status", "detail", "errors"}
    errors = body.get("errors")
    cls = _BY_STATUS.get(status, ProblemError)
    return cls(
        status,
        str(body.get("title") or response.reason_phrase or "Error"),
        str(body.get("detail") or response.text[:500] or response.reason_phrase),
        type=str(body.get("type") or "about:blank"),
        errors=errors if isinstance(errors, list) else None,
        extra={key: value for key, value in body.items() if key not in known},
        headers=response.headers,
    )


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """Retry-After in seconds (the delta form; an HTTP date is ignored), capped at an hour."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    if seconds != seconds or seconds < 0:  # NaN
        return None
    return min(seconds, 3600.0)
