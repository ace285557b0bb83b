"""RFC 9457 problem+json for every error the API can answer."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from assetlens.errors import AssetlensError, Unauthorized, Unavailable

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
_TYPE_BASE = "https://assetlens.dev/problems/"


def problem(status: int, title: str, detail: str, *, type_: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body = {"type": _TYPE_BASE + (type_ or str(status)), "title": title, "status": status,
            "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(AssetlensError)
    async def _domain(_: Request, exc: AssetlensError) -> JSONResponse:
        headers = dict(exc.headers)
        if isinstance(exc, Unavailable):
            headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, Unauthorized):
            headers["WWW-Authenticate"] = "Bearer"
        slug = type(exc).__name__.lower()
        return problem(exc.status, exc.title, exc.detail, type_=slug, headers=headers,
                       **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(p) for p in err.get("loc", ())], "msg": str(err.get("msg", ""))}
            for err in exc.errors()
        ][:20]
        detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
        return problem(422, "Invalid input", detail or "invalid request", type_="invalidinput",
                       errors=errors)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        return problem(exc.status_code, _title(exc.status_code), str(exc.detail),
                       headers=dict(exc.headers or {}))

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, _: ClientDisconnect) -> JSONResponse:
        # The client hung up mid-body: its error, not ours, and nothing was written (the
        # readers discard what they spooled). Nobody reads this answer.
        log.info("client disconnected during %s %s", request.method, request.url.path)
        return problem(400, "Client disconnected", "the request body ended early")

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
