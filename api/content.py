"""Serving an asset's bytes and previews over HTTP, for every route that shows an asset
(`/v1/assets/…`, the shared views under `/v1/collections/…` and signed links under
`/v1/signed/…`): ETag, Range, nosniff, attachment with a sandboxing CSP for active content."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi import Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from assetlens import media
from assetlens.access import Caller
from assetlens.domain import Asset
from assetlens.errors import InvalidInput, NotFound
from assetlens.services.assets import AssetService
from assetlens.services.links import content_disposition
from assetlens.services.usage import UsageService
from assetlens.signing import Disposition
from assetlens.usage import Channel, UsageKind

# Told once per counted use of content (see `content_response`).
UsageHook = Callable[[UsageKind], None]

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(InvalidInput):
    status = 416
    title = "Range not satisfiable"


def _unsatisfiable(size: int) -> RangeNotSatisfiable:
    error = RangeNotSatisfiable(f"the file has {size} bytes")
    error.headers["Content-Range"] = f"bytes */{size}"
    return error


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """One byte range (inclusive); None means serve the whole body."""
    match = _RANGE.fullmatch(header.strip())
    if not match:
        return None  # multiple or malformed ranges: RFC 9110 lets us ignore them
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        length = _position(last, size)
        if length == 0:
            raise _unsatisfiable(size)
        return max(0, size - length), size - 1
    start = _position(first, size)
    end = _position(last, size) if last else size - 1
    if start >= size or end < start:
        raise _unsatisfiable(size)
    return start, min(end, size - 1)


def _position(digits: str, size: int) -> int:
    """A byte position from the header, capped at `size`: a number of thousands of digits
    is past any file, and is never converted (Python refuses to, and it costs time)."""
    significant = digits.lstrip("0")
    if len(significant) > len(str(size)):
        return size
    return min(int(significant or "0"), size)


def usage_hook(usage: UsageService, asset: Asset, channel: Channel) -> UsageHook:
    """Records a use of `asset` in its workspace (the owner's, also when a collection
    share or a signed link serves it) on `channel`."""

    def record(kind: UsageKind) -> None:
        usage.record(asset.workspace, asset.id, kind, channel)

    return record


def caller_channel(caller: Caller) -> Channel:
    """A browser session is the web UI; an API key the API."""
    return Channel.UI if caller.via_session else Channel.API


def use_kind(asset: Asset, disposition: Disposition) -> UsageKind:
    """A download when the bytes go out as an attachment (asked for, or active content),
    else a view."""
    attachment = disposition is Disposition.ATTACHMENT or media.is_active_content(asset.mime)
    return UsageKind.DOWNLOAD if attachment else UsageKind.VIEW


def starts_a_fetch(request: Request) -> bool:
    """Whether the request asks for the content from its first byte: no Range (or one we
    ignore, so the whole body), or one starting at 0. One use per fetch, however many
    ranges a player asks for later."""
    header = request.headers.get("range")
    match = _RANGE.fullmatch(header.strip()) if header else None
    if match is None:
        return True
    first, last = match.groups()
    # (Compared as text: a number of thousands of digits never becomes an int.)
    return (not first and not last) or (bool(first) and not first.strip("0"))


async def content_response(
    request: Request,
    assets: AssetService,
    asset: Asset,
    *,
    disposition: Disposition = Disposition.INLINE,
    max_age: int = 3600,
    extra_headers: dict[str, str] | None = None,
    on_use: UsageHook | None = None,
) -> Response:
    """The original bytes of `asset` (already authorised), honouring If-None-Match, Range
    and If-Range. Active content is always an attachment with a sandboxing CSP.

    `on_use` is told of one use per fetch: a 200, or a 206 starting at byte 0 (a player's
    later ranges and 304 revalidations don't count) — see `use_kind`."""
    etag = f'"{asset.sha256}"'
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": f"private, max-age={max_age}",
        "Content-Disposition": content_disposition(asset, disposition),
        **(extra_headers or {}),
    }
    if media.is_active_content(asset.mime):
        headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    byte_range = None
    range_header = request.headers.get("range")
    if range_header and request.headers.get("if-range", etag) == etag:
        byte_range = parse_range(range_header, asset.size_bytes)
    start, end = byte_range or (0, None)
    body = await run_in_threadpool(assets.content, asset, start, end)
    if on_use is not None and start == 0:
        on_use(use_kind(asset, disposition))
    length = body.end - body.start + 1 if body.info.size else 0
    headers["Content-Length"] = str(length)
    status = 200
    if byte_range is not None:
        status = 206
        headers["Content-Range"] = f"bytes {body.start}-{body.end}/{body.info.size}"
    return StreamingResponse(
        body.chunks, status_code=status, media_type=asset.mime, headers=headers
    )


def preview_response(
    request: Request,
    asset: Asset,
    data: bytes | None,
    size: str,
    *,
    max_age: int = 86400,
    extra_headers: dict[str, str] | None = None,
) -> Response:
    """A WebP preview of `asset` (already authorised); 404 problem when there is none yet."""
    if data is None:
        state = "is still being processed" if asset.status == "processing" else "has no preview"
        raise NotFound(f"the asset {state}")
    etag = f'"{asset.sha256[:32]}-{size}"'
    headers = {
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": f"private, max-age={max_age}",
        **(extra_headers or {}),
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="image/webp", headers=headers)
