"""The S3 requests this adapter makes by hand, and reading their answers: signed requests
with explicit headers, ETag quoting, XML bodies, object info from response headers."""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from defusedxml.ElementTree import fromstring as parse_xml
from minio import Minio

from assetlens.errors import InvalidInput, PreconditionFailed
from assetlens.ports import ObjectInfo

if TYPE_CHECKING:
    from datetime import datetime

    from urllib3 import BaseHTTPResponse


def signed_request(
    client: Minio,
    method: str,
    bucket: str,
    key: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> BaseHTTPResponse:
    """One SigV4-signed S3 request with explicit headers, through the SDK's own request path.

    Why a private SDK method: minio-py's public `put_object` has no `headers=` argument and
    its `metadata=` turns `If-None-Match` into `x-amz-meta-if-none-match`, silently dropping
    the precondition (docs/MINIO.md); CompleteMultipartUpload and DeleteObject take no
    headers at all. `Minio._execute` signs, sends and parses errors exactly as the public
    calls do and has kept this signature through 7.x. It is the only private use in this
    adapter; the ObjectStore contract suite (create_only, if_match, multipart) covers it
    against a real server, so pin `minio<7.3` and rerun that suite before bumping.
    """
    return client._execute(
        method,
        bucket,
        key,
        body=body,
        headers=dict(headers or {}),
        query_params=dict(query) if query is not None else None,
    )


def unquote(etag: str) -> str:
    return etag.strip().removeprefix("W/").strip('"')


def quoted(etag: str) -> str:
    """The If-Match header value for an ETag; one that no server could have issued (control
    or non-ASCII characters) cannot match, so it fails like a stale one."""
    if not etag or not all(" " <= ch <= "~" for ch in etag):
        raise PreconditionFailed(f"ETag {etag!r} cannot match any object")
    return etag if etag.startswith('"') else f'"{etag}"'


def check_header_value(name: str, value: str) -> str:
    if not value or not all(" " <= ch <= "~" for ch in value):
        raise InvalidInput(f"{name} must be printable ASCII, got {value!r}")
    return value


def xml_text(data: bytes, name: str) -> str | None:
    """Text of the first element called `name` (any namespace), or None."""
    root = parse_xml(data)
    for element in root.iter():
        if str(element.tag).rsplit("}", 1)[-1] == name:
            return str(element.text or "")
    return None


def info_from_headers(key: str, response: BaseHTTPResponse, size: int | None) -> ObjectInfo:
    headers = response.headers
    length = headers.get("Content-Length")
    modified: datetime | None = None
    if last_modified := headers.get("Last-Modified"):
        try:
            modified = parsedate_to_datetime(last_modified)
        except (TypeError, ValueError):
            modified = None
    return ObjectInfo(
        key=key,
        size=size if size is not None else int(length or 0),
        etag=unquote(headers.get("ETag", "")),
        modified=modified,
    )
