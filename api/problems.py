"""RFC 9457 problem+json for every error the API can answer."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from assetlens.errors import (
    AssetlensError,
    IndexUnavailable,
    StoreUnavailable,
    Unauthorized,
    Unavailable,
)
from assetlens.logs import request_id

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
_TYPE_BASE = "https://assetlens.dev/problems/"
# An absolute (or home-relative) filesystem path of two or more segments, or one on a
# Windows drive; not preceded by a word character, a colon or a slash, so URLs and API
# paths (/v1/…) stay.
_SERVER_PATH = re.compile(
    r"(?<![\w:/.~-])~?(?:/(?!v1/)[^\s/'\"`,;:()<>]+){2,}/?"
    r"|\b[A-Za-z]:\\[^\s'\"`,;]+"
)
# What a backend outage is called in public: the adapter's own text (hosts, file paths,
# library messages) goes to the log with the request id instead.
_OUTAGES: dict[type[Unavailable], str] = {
    StoreUnavailable: "the object store is unavailable; retry later",
    IndexUnavailable: "the search index is unavailable; retry later",
}


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    type_: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response; `detail` is scrubbed of server paths, and the request id
    header is set here too (a 500 leaves the app past the middleware that sets it)."""
    body = {
        "type": _TYPE_BASE + (type_ or str(status)),
        "title": title,
        "status": status,
        "detail": public_detail(detail),
        **extra,
    }
    headers = dict(headers or {})
    rid = request_id.get()
    if rid:
        headers.setdefault("X-Request-ID", rid)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def public_detail(detail: str) -> str:
    """`detail` with absolute filesystem paths replaced by `<path>`."""
    return _SERVER_PATH.sub("<path>", detail)


def _outage_detail(exc: Unavailable) -> str:
    for kind, text in _OUTAGES.items():
        if isinstance(exc, kind):
            log.warning("%s: %s", type(exc).__name__, exc.detail)
            return text
    return exc.detail


def install(app: FastAPI) -> None:
    @app.exception_handler(AssetlensError)
    async def _domain(_: Request, exc: AssetlensError) -> JSONResponse:
        headers = dict(exc.headers)
        detail = exc.detail
        if isinstance(exc, Unavailable):
            headers["Retry-After"] = str(exc.retry_after)
            detail = _outage_detail(exc)
        if isinstance(exc, Unauthorized):
            headers["WWW-Authenticate"] = "Bearer"
        slug = type(exc).__name__.lower()
        return problem(exc.status, exc.title, detail, type_=slug, headers=headers, **exc.extra)

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, _: ClientDisconnect) -> JSONResponse:
        # Nobody reads this answer; the spool is already removed (api.multipart). A
        # hang-up is the client's choice, not a server error: one line at info.
        log.info("client disconnected during %s %s", request.method, request.url.path)
        return problem(499, "Client closed request", "the client closed the connection")

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(p) for p in err.get("loc", ())], "msg": str(err.get("msg", ""))}
            for err in exc.errors()
        ][:20]
        detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
        return problem(
            422, "Invalid input", detail or "invalid request", type_="invalidinput", errors=errors
        )

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        return problem(
            exc.status_code,
            _title(exc.status_code),
            str(exc.detail),
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "Internal error", "an unexpected error occurred; it has been logged")


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
