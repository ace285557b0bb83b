"""Request body limits that hold while streaming, before any parser runs."""

from __future__ import annotations

import asyncio
import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assetlens.errors import AssetlensError, PayloadTooLarge, RequestTimeout
from assetlens.jsonguard import (
    as_utf8,
    check_encoding,
    check_json_depth,
    check_numbers,
    check_surrogates,
)

# The only routes that take uploads (POST, multipart); every other body is small JSON.
# Matched on the raw path, before routing: a new version's path holds the asset id.
UPLOAD_PATHS = re.compile(r"/v1/assets|/v1/search/by-image|/v1/assets/[^/]+/versions")


def takes_upload(method: str, path: str) -> bool:
    """Whether `method path` is one of the upload routes (a trailing slash allowed)."""
    return method == "POST" and UPLOAD_PATHS.fullmatch(path.rstrip("/")) is not None


class BodyLimitMiddleware:
    """Caps request bodies: `upload_limit` for multipart on the upload routes, `json_limit`
    for everything else, and refuses over-deep JSON (a RecursionError in the parser would
    otherwise be a 500), lone surrogates and numbers no backend holds (NaN, ±Infinity,
    integers beyond 64 bits). A body that stops arriving for `idle_timeout` seconds is a
    408: a request shorter than its Content-Length must not hold its slot for ever."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        upload_limit: int,
        json_limit: int,
        json_depth: int,
        idle_timeout: float = 30.0,
    ) -> None:
        self.app = app
        self.upload_limit = upload_limit
        self.json_limit = json_limit
        self.json_depth = json_depth
        self.idle_timeout = idle_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        # Media types are case-insensitive (RFC 9110): `Multipart/Form-Data` is multipart.
        multipart = headers.get("content-type", "").lower().startswith(
            "multipart/"
        ) and takes_upload(scope["method"], scope["path"])
        limit = self.upload_limit if multipart else self.json_limit
        if _declared_length(headers.get("content-length")) > limit:
            await _reject(send, PayloadTooLarge(f"request body exceeds {limit} bytes"))
            return
        receive = _idle_bounded(receive, self.idle_timeout)
        if multipart:
            await self.app(scope, _counting(receive, limit), send)
            return
        try:
            body = await _read_all(receive, limit)
            content_type = headers.get("content-type", "").lower()
            text = body
            if body and (not content_type or "json" in content_type):
                check_encoding(body)
                text = as_utf8(body)  # the scans below read UTF-8 bytes
            # Counting brackets in C first: only a body that could be too deep is scanned.
            if text.count(b"[") + text.count(b"{") > self.json_depth:
                check_json_depth(text, self.json_depth)
            check_surrogates(text)
            check_numbers(text)
        except AssetlensError as exc:
            await _reject(send, exc)
            return
        await self.app(scope, _replay(body, receive), send)


def _declared_length(value: str | None) -> int:
    """The Content-Length, 0 when absent or not ASCII digits (the body is counted as it
    arrives anyway); a number of thousands of digits is past any limit and never converted
    (Python refuses to)."""
    if not value or not value.isascii() or not value.isdigit():
        return 0
    digits = value.lstrip("0")
    return int(digits or "0") if len(digits) <= 18 else 2**63


def _idle_bounded(receive: Receive, timeout: float) -> Receive:
    """`receive`, raising RequestTimeout when the body's next part takes longer than
    `timeout`. Once the body is complete, calls pass through untimed: they wait for the
    client's disconnect, which may rightly take as long as the response."""
    complete = False

    async def wrapped() -> Message:
        nonlocal complete
        if complete:
            return await receive()
        try:
            message = await asyncio.wait_for(receive(), timeout)
        except TimeoutError:
            raise RequestTimeout(
                f"the request body stopped arriving (nothing for {timeout:g} s); "
                "is it shorter than its Content-Length?"
            ) from None
        if message["type"] != "http.request" or not message.get("more_body", False):
            complete = True
        return message

    return wrapped


def _counting(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise PayloadTooLarge(f"request body exceeds {limit} bytes")
        return message

    return wrapped


async def _read_all(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body exceeds {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def wrapped() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return wrapped


async def _reject(send: Send, exc: AssetlensError) -> None:
    body = json.dumps(
        {
            "type": f"https://assetlens.dev/problems/{type(exc).__name__.lower()}",
            "title": exc.title,
            "status": exc.status,
            "detail": exc.detail,
            **exc.extra,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": exc.status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
