"""ObjectStore on S3 (MinIO in tests and CI) through the `minio` SDK.

Writes are atomic on the server: a single PUT for objects up to one part, otherwise a
multipart upload that only becomes visible at CompleteMultipartUpload and is aborted on any
failure. Conditional writes send real `If-None-Match: *` / `If-Match` headers, so the check
and the write are one step on the server (see `_signed_request` for how).

Every SDK and transport error is mapped here: missing → ObjectNotFound, 412 →
PreconditionFailed, and connection errors, timeouts, 5xx and SlowDown are retried with
exponential backoff and jitter, then raised as StoreUnavailable.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, BinaryIO, TypeVar
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, ParseError, SubElement, tostring

import urllib3
from defusedxml.ElementTree import fromstring as parse_xml
from minio import Minio
from minio.error import InvalidResponseError, MinioException, S3Error, ServerError
from minio.helpers import check_bucket_name
from urllib3.exceptions import HTTPError as TransportError
from urllib3.exceptions import MaxRetryError

from assetlens.errors import (
    AssetlensError,
    InvalidInput,
    ObjectNotFound,
    PreconditionFailed,
    StoreUnavailable,
)
from assetlens.ports import ObjectInfo, StoredObject
from storage.keys import validate_key, validate_prefix

if TYPE_CHECKING:
    from datetime import datetime

    from urllib3 import BaseHTTPResponse

    from assetlens.config import Settings

T = TypeVar("T")

MiB = 1 << 20
PART_SIZE = 16 * MiB
MIN_PART_SIZE = 5 * MiB  # S3's floor for every part but the last
MAX_PRESIGN = timedelta(days=7)  # SigV4 query signatures cannot live longer
LIST_PAGE = 1000
_MAX_DELAY = 5.0

# S3 error codes that mean "try again", whatever the HTTP status says.
_TRANSIENT_CODES = frozenset(
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


class _BucketMissing(ObjectNotFound):
    """The bucket itself is gone: nothing in it exists, and a write must create it."""


class _Transient(Exception):
    """A failure worth retrying; `reason` is the human-readable cause."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Attempts:
    """How a retried call went; lets a conditional write tell its own earlier, unanswered
    success apart from a real conflict."""

    transient_failures: int = 0


def _signed_request(
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


def _unquote(etag: str) -> str:
    return etag.strip().removeprefix("W/").strip('"')


def _quoted(etag: str) -> str:
    """The If-Match header value for an ETag; one that no server could have issued (control
    or non-ASCII characters) cannot match, so it fails like a stale one."""
    if not etag or not all(" " <= ch <= "~" for ch in etag):
        raise PreconditionFailed(f"ETag {etag!r} cannot match any object")
    return etag if etag.startswith('"') else f'"{etag}"'


def _check_header_value(name: str, value: str) -> str:
    if not value or not all(" " <= ch <= "~" for ch in value):
        raise InvalidInput(f"{name} must be printable ASCII, got {value!r}")
    return value


def _read_part(src: BinaryIO, size: int) -> bytes:
    """Up to `size` bytes from `src`; shorter only at the end of the stream (sources may
    return short reads, as sockets do)."""
    chunks: list[bytes] = []
    left = size
    while left > 0:
        chunk = src.read(left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _multipart_etag(part_md5s: list[bytes]) -> str:
    """The ETag S3 gives a multipart object (MD5 of the part MD5s, dash, part count)."""
    digest = hashlib.md5(b"".join(part_md5s), usedforsecurity=False).hexdigest()
    return f"{digest}-{len(part_md5s)}"


def _xml_text(data: bytes, name: str) -> str | None:
    """Text of the first element called `name` (any namespace), or None."""
    root = parse_xml(data)
    for element in root.iter():
        if str(element.tag).rsplit("}", 1)[-1] == name:
            return str(element.text or "")
    return None


def _describe_transport(exc: BaseException) -> str:
    """A short cause for a urllib3/socket failure, without URLs (they may carry queries)."""
    reason = exc.reason if isinstance(exc, MaxRetryError) and exc.reason is not None else exc
    text = str(reason)
    # urllib3 prefixes messages with the connection object's repr; keep the informative tail.
    text = text.rsplit(">: ", 1)[-1]
    if "(" in text and "url:" in text:
        text = text.split("(", 1)[0].strip()
    return f"{type(reason).__name__}: {text}"[:300]


def _info_from_headers(key: str, response: BaseHTTPResponse, size: int | None) -> ObjectInfo:
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
        etag=_unquote(headers.get("ETag", "")),
        modified=modified,
    )


def http_client(
    *, connect_timeout: float = 5.0, read_timeout: float = 60.0, max_connections: int = 16
) -> urllib3.PoolManager:
    """A connection pool for the SDK with bounded timeouts and no retries of its own: the
    SDK's default pool waits 5 minutes and retries 5xx silently, while this adapter retries
    itself, with backoff, and then reports StoreUnavailable."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        maxsize=max_connections,
        retries=urllib3.Retry(
            total=0, connect=0, read=0, redirect=0, status=0, other=0, raise_on_status=False
        ),
        cert_reqs="CERT_REQUIRED",
    )


class _RangeStream(Iterator[bytes]):
    """Yields a ranged GET's body in chunks. After a dropped connection it resumes from the
    next byte with `If-Match` on the ETag, so a resumed read never mixes two versions.
    Releases the connection when exhausted, closed or dropped."""

    def __init__(
        self,
        store: S3ObjectStore,
        key: str,
        response: BaseHTTPResponse,
        position: int,
        end: int | None,
        chunk_size: int,
    ) -> None:
        self._store = store
        self._key = key
        self._response: BaseHTTPResponse | None = response
        self._position = position
        self._end = end
        self._chunk = chunk_size
        self._etag = response.headers.get("ETag", "")
        self._resumes = 0

    def __iter__(self) -> _RangeStream:
        return self

    def __next__(self) -> bytes:
        while self._response is not None:
            try:
                data = self._response.read(self._chunk, decode_content=False)
            except (TransportError, OSError) as exc:
                self._resume(exc)
                continue
            if data:
                self._position += len(data)
                return bytes(data)
            self._finish()
        raise StopIteration

    def _resume(self, exc: BaseException) -> None:
        self._finish()
        self._resumes += 1
        if self._resumes > self._store.retries or not self._etag:
            raise StoreUnavailable(
                f"object store connection dropped while reading {self._key!r}: "
                f"{_describe_transport(exc)}"
            ) from exc
        end = "" if self._end is None else str(self._end)
        headers = {"Range": f"bytes={self._position}-{end}", "If-Match": self._etag}
        try:
            self._response = self._store._get(self._key, headers)
        except (ObjectNotFound, PreconditionFailed, InvalidInput) as err:
            raise StoreUnavailable(
                f"object {self._key!r} changed or vanished while it was being read"
            ) from err

    def _finish(self) -> None:
        # Close before releasing: a connection with unread body must not go back to the pool.
        if self._response is not None:
            response, self._response = self._response, None
            response.close()
            response.release_conn()

    def close(self) -> None:
        """Stop early and release the connection; further iteration yields nothing."""
        self._finish()

    def __del__(self) -> None:
        self._finish()


class S3ObjectStore:
    """The `ObjectStore` port on one S3 bucket. No network in the constructor; the bucket
    is created on the first write when missing.

    Limits: content types are stored but not returned (the API sniffs types itself). An
    upload killed mid-way can leave an incomplete multipart upload (never an object) on the
    server; MinIO expires those itself, on AWS add an AbortIncompleteMultipartUpload rule.
    """

    def __init__(
        self,
        client: Minio,
        bucket: str,
        *,
        retries: int = 4,
        backoff: float = 0.2,
        part_size: int = PART_SIZE,
        probe_client: Minio | None = None,
    ) -> None:
        if retries < 0 or backoff < 0:
            raise ValueError("retries and backoff must not be negative")
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes")
        # A bad name is a configuration error: say so now, not as a failure of every call.
        check_bucket_name(bucket, strict=True)
        self._client = client
        self._probe = probe_client or client
        self._bucket = bucket
        self._retries = retries
        self._backoff = backoff
        self._part_size = part_size
        self._bucket_ready = False
        self._bucket_lock = threading.Lock()
        self._random = random.Random()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        retries: int = 4,
        backoff: float = 0.2,
        part_size: int = PART_SIZE,
    ) -> S3ObjectStore:
        """A store for `settings.s3_*`; `check()` uses a second client with short timeouts.
        Raises ValueError for an endpoint that is not `http(s)://host[:port]`."""
        parts = urlsplit(settings.s3_endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"s3_endpoint must be http(s)://host[:port], got {parts.geturl()!r}")
        if parts.path.strip("/") or parts.query or parts.username:
            raise ValueError("s3_endpoint must not carry a path, query or credentials")
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        endpoint = f"{host}:{parts.port}" if parts.port else host

        def client(pool: urllib3.PoolManager) -> Minio:
            return Minio(
                endpoint,
                access_key=settings.s3_access_key,
                secret_key=settings.s3_secret_key.get_secret_value(),
                secure=parts.scheme == "https",
                region=settings.s3_region,
                http_client=pool,
            )

        probe_timeout = min(connect_timeout, 2.0)
        return cls(
            client(http_client(connect_timeout=connect_timeout, read_timeout=read_timeout)),
            settings.s3_bucket,
            retries=retries,
            backoff=backoff,
            part_size=part_size,
            probe_client=client(
                http_client(
                    connect_timeout=probe_timeout,
                    read_timeout=min(read_timeout, 3.0),
                    max_connections=2,
                )
            ),
        )

    @property
    def bucket(self) -> str:
        """The bucket holding every key of this store."""
        return self._bucket

    @property
    def retries(self) -> int:
        """How many times a failing request is retried before StoreUnavailable."""
        return self._retries

    # -- writes -------------------------------------------------------------------------

    def put_stream(
        self,
        key: str,
        src: BinaryIO,
        *,
        size: int | None = None,
        content_type: str = "application/octet-stream",
        create_only: bool = False,
    ) -> ObjectInfo:
        """Upload `src` under `key`, one part (16 MiB) in memory at a time: a single PUT
        when it fits in one part, else a multipart upload. With `size` given, a longer or
        shorter stream raises InvalidInput and leaves the key as it was; reading stops one
        byte past `size`. `create_only` fails with PreconditionFailed if the key exists,
        checked atomically by the server (`If-None-Match: *`)."""
        validate_key(key)
        _check_header_value("content_type", content_type)
        if size is not None and size < 0:
            raise InvalidInput("size must not be negative")
        first_size = self._part_size if size is None else min(size + 1, self._part_size)
        first = _read_part(src, first_size)
        if len(first) < self._part_size or (size is not None and size < self._part_size):
            if size is not None and len(first) != size:
                raise InvalidInput(
                    f"stream for {key!r} has {'more' if len(first) > size else 'fewer'} "
                    f"bytes than the declared {size}"
                )
            headers = {"Content-Type": content_type}
            if create_only:
                headers["If-None-Match"] = "*"
            return self._put_single(key, first, headers, conditional=create_only)
        if create_only and self.exists(key):
            # Cheap early exit before sending gigabytes; the atomic check is at completion.
            raise PreconditionFailed(f"object {key!r} already exists")
        # Handed over in a list and dropped here, so that only the part being uploaded is
        # alive while the next one is read (memory stays at about two parts).
        pending = [first]
        del first
        return self._put_multipart(key, pending, src, size, content_type, create_only)

    def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        if_match: str | None = None,
        create_only: bool = False,
    ) -> ObjectInfo:
        """Write a small object in one PUT. `if_match` sends `If-Match` (compare-and-swap on
        the ETag), `create_only` sends `If-None-Match: *`; a failed condition, including
        `if_match` on a missing key, raises PreconditionFailed."""
        validate_key(key)
        _check_header_value("content_type", content_type)
        if if_match is not None and create_only:
            raise InvalidInput("if_match and create_only cannot be combined")
        headers = {"Content-Type": content_type}
        if if_match is not None:
            headers["If-Match"] = _quoted(if_match)
        if create_only:
            headers["If-None-Match"] = "*"
        try:
            return self._put_single(
                key, bytes(data), headers, conditional=create_only or if_match is not None
            )
        except ObjectNotFound as exc:  # If-Match on a missing key: 404 NoSuchKey
            raise PreconditionFailed(f"object {key!r} does not exist") from exc

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Remove `key`; a missing key is fine unless `if_match` is given.

        `if_match` is checked by comparing a fresh `stat` and is also sent as `If-Match`.
        MinIO (pinned version) ignores If-Match on DELETE (verified: it deleted an object
        whose ETag did not match), so an overwrite landing between the stat and the delete
        is deleted too: a small race, acceptable for deletes the core already serialises.
        Servers that honour conditional DELETE (AWS) close it with the header.
        """
        validate_key(key)
        headers: dict[str, str] = {}
        if if_match is not None:
            expected = _quoted(if_match)
            try:
                current = self.stat(key)
            except ObjectNotFound as exc:
                raise PreconditionFailed(f"object {key!r} does not exist") from exc
            if current.etag != _unquote(expected):
                raise PreconditionFailed(f"object {key!r} does not have ETag {if_match!r}")
            headers["If-Match"] = expected

        def remove() -> None:
            if headers:
                _signed_request(self._client, "DELETE", self._bucket, key, headers=headers)
            else:
                self._client.remove_object(self._bucket, key)

        try:
            self._call("delete", key, remove)
        except _BucketMissing:
            if if_match is not None:
                raise PreconditionFailed(f"object {key!r} does not exist") from None
        except ObjectNotFound as exc:
            if if_match is not None:
                raise PreconditionFailed(f"object {key!r} does not exist") from exc

    # -- reads --------------------------------------------------------------------------

    def get_bytes(self, key: str) -> StoredObject:
        """The whole object and its info, read in one GET (so they agree)."""
        validate_key(key)

        def read() -> StoredObject:
            response = self._client.get_object(self._bucket, key)
            try:
                data = response.read(decode_content=False)
            finally:
                response.close()
                response.release_conn()
            return StoredObject(data=data, info=_info_from_headers(key, response, len(data)))

        return self._call("read", key, read)

    def iter_range(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 16
    ) -> Iterator[bytes]:
        """Bytes `start..end` (inclusive, clamped to the object) from a server-side ranged
        GET, in chunks of at most `chunk_size`. ObjectNotFound, or InvalidInput for an
        unsatisfiable range, is raised by this call before any byte is yielded."""
        validate_key(key)
        if start < 0 or (end is not None and end < start) or chunk_size <= 0:
            raise InvalidInput(f"invalid byte range {start}-{end} (chunk size {chunk_size})")
        headers: dict[str, str] = {}
        if start or end is not None:
            headers["Range"] = f"bytes={start}-{'' if end is None else end}"
        response = self._get(key, headers)
        return _RangeStream(self, key, response, start, end, chunk_size)

    def stat(self, key: str) -> ObjectInfo:
        """Size, ETag and modification time of `key`; ObjectNotFound when missing."""
        validate_key(key)
        obj = self._call("stat", key, lambda: self._client.stat_object(self._bucket, key))
        return ObjectInfo(
            key=key, size=obj.size or 0, etag=_unquote(obj.etag or ""), modified=obj.last_modified
        )

    def exists(self, key: str) -> bool:
        """Whether an object is stored under `key`."""
        try:
            self.stat(key)
        except ObjectNotFound:
            return False
        return True

    def list_keys(self, prefix: str) -> Iterator[str]:
        """Keys starting with `prefix` (which may end mid-segment), in lexicographic order,
        fetched lazily a page at a time; a failed page is retried from the last key seen."""
        validate_prefix(prefix)
        return self._list(prefix)

    def presigned_get_url(self, key: str, expires: timedelta, *,
                          content_type: str | None = None,
                          content_disposition: str | None = None) -> str | None:
        """A SigV4 query-signed GET URL valid for `expires` (1 s to 7 days), optionally
        overriding the response's Content-Type / Content-Disposition (`response-*`
        parameters, covered by the signature). Computed locally: no request is made when
        the client knows its region."""
        validate_key(key)
        if not timedelta(seconds=1) <= expires <= MAX_PRESIGN:
            raise InvalidInput("presigned URL expiry must be between 1 second and 7 days")
        overrides: dict[str, str | list[str] | tuple[str]] = {name: value for name, value in (
            ("response-content-type", content_type),
            ("response-content-disposition", content_disposition)) if value}
        return self._call(
            "sign a URL for",
            key,
            lambda: self._client.presigned_get_object(
                self._bucket, key, expires=expires, response_headers=overrides or None),
        )

    # -- maintenance --------------------------------------------------------------------

    def check(self) -> None:
        """Raise StoreUnavailable unless the server answers a bucket lookup (through the
        probe client's short timeouts, retried once). A missing bucket is fine: it is
        created on the first write."""
        self._call(
            "reach the bucket", None, lambda: self._probe.bucket_exists(self._bucket), retries=1
        )

    # -- internals: requests ------------------------------------------------------------

    def _get(self, key: str, headers: dict[str, str]) -> BaseHTTPResponse:
        """A streaming GET (the caller releases the response)."""
        return self._call(
            "read",
            key,
            lambda: self._client.get_object(self._bucket, key, request_headers=dict(headers)),
        )

    def _list(self, prefix: str) -> Iterator[str]:
        after: str | None = None
        while True:

            def page(start_after: str | None = after) -> list[str]:
                listing = self._client.list_objects(
                    self._bucket, prefix=prefix or None, recursive=True, start_after=start_after
                )
                return [str(obj.object_name) for obj in itertools.islice(listing, LIST_PAGE)]

            try:
                keys = self._call("list", prefix, page)
            except _BucketMissing:
                return
            yield from keys
            if len(keys) < LIST_PAGE:
                return
            after = keys[-1]

    def _put_single(
        self, key: str, data: bytes, headers: dict[str, str], *, conditional: bool
    ) -> ObjectInfo:
        attempts = _Attempts()

        def put() -> str:
            response = _signed_request(
                self._client, "PUT", self._bucket, key, body=data, headers=headers
            )
            return _unquote(response.headers.get("ETag", ""))

        try:
            etag = self._write(key, put, attempts)
        except (PreconditionFailed, ObjectNotFound):
            # After an attempt that got no answer, a 412 may be our own write having landed.
            # If the key now holds exactly our bytes (S3's ETag of a single PUT is their
            # MD5) the write is done; another writer storing identical bytes at that moment
            # gives the same result for content-addressed blobs and revisioned manifests.
            expected = hashlib.md5(data, usedforsecurity=False).hexdigest()
            if conditional and attempts.transient_failures and self._holds(key, expected):
                etag = expected
            else:
                raise
        return ObjectInfo(key=key, size=len(data), etag=etag)

    def _put_multipart(
        self,
        key: str,
        pending: list[bytes],
        src: BinaryIO,
        size: int | None,
        content_type: str,
        create_only: bool,
    ) -> ObjectInfo:
        upload_id = self._write(key, lambda: self._start_upload(key, content_type), _Attempts())
        completed = False
        try:
            parts: list[tuple[int, str]] = []
            md5s: list[bytes] = []
            total = 0
            part = pending.pop()
            while part:
                total += len(part)
                if size is not None and total > size:
                    raise InvalidInput(f"stream for {key!r} is longer than the declared {size}")
                md5s.append(hashlib.md5(part, usedforsecurity=False).digest())
                number = len(parts) + 1
                parts.append((number, self._upload_part(key, upload_id, number, part)))
                del part
                want = self._part_size if size is None else min(self._part_size, size - total + 1)
                part = _read_part(src, want)
            if size is not None and total != size:
                raise InvalidInput(
                    f"stream for {key!r} ended after {total} of the declared {size} bytes"
                )
            etag = self._complete(key, upload_id, parts, _multipart_etag(md5s), create_only)
            completed = True
            return ObjectInfo(key=key, size=total, etag=etag)
        finally:
            if not completed:
                self._abort(key, upload_id)

    def _start_upload(self, key: str, content_type: str) -> str:
        data = _signed_request(
            self._client,
            "POST",
            self._bucket,
            key,
            headers={"Content-Type": content_type},
            query={"uploads": ""},
        ).data
        upload_id = _xml_text(data, "UploadId")
        if not upload_id:
            raise _Transient("CreateMultipartUpload answered without an UploadId")
        return upload_id

    def _upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        def put() -> str:
            response = _signed_request(
                self._client,
                "PUT",
                self._bucket,
                key,
                body=data,
                query={"partNumber": str(number), "uploadId": upload_id},
            )
            return _unquote(response.headers.get("ETag", ""))

        return self._call("upload a part of", key, put)

    def _complete(
        self,
        key: str,
        upload_id: str,
        parts: list[tuple[int, str]],
        expected_etag: str,
        create_only: bool,
    ) -> str:
        root = Element("CompleteMultipartUpload")
        for number, part_etag in parts:
            part = SubElement(root, "Part")
            SubElement(part, "PartNumber").text = str(number)
            SubElement(part, "ETag").text = f'"{part_etag}"'
        body = tostring(root, encoding="utf-8")
        headers = {"Content-Type": "application/xml"}
        if create_only:
            headers["If-None-Match"] = "*"
        attempts = _Attempts()

        def complete() -> str:
            data = _signed_request(
                self._client,
                "POST",
                self._bucket,
                key,
                body=body,
                headers=headers,
                query={"uploadId": upload_id},
            ).data
            # S3 may answer 200 and then report a failure in the body.
            if (code := _xml_text(data, "Code")) is not None:
                if code == "PreconditionFailed":
                    raise PreconditionFailed(f"object {key!r} already exists")
                raise _Transient(f"CompleteMultipartUpload failed: {code}")
            return _unquote(_xml_text(data, "ETag") or "")

        try:
            return self._call("complete the upload of", key, complete, attempts=attempts)
        except (PreconditionFailed, ObjectNotFound, StoreUnavailable):
            # An unanswered first attempt may have completed it: then a retry sees 412 or
            # NoSuchUpload although the object is ours.
            if attempts.transient_failures and self._holds(key, expected_etag):
                return expected_etag
            raise

    def _abort(self, key: str, upload_id: str) -> None:
        """Best effort: the parts of an unfinished upload are never visible as an object,
        and the server expires them if this fails too."""
        with suppress(AssetlensError):
            self._call(
                "abort the upload of",
                key,
                lambda: _signed_request(
                    self._client, "DELETE", self._bucket, key, query={"uploadId": upload_id}
                ).close(),
                retries=1,
            )

    def _holds(self, key: str, etag: str) -> bool:
        """Whether `key` now has `etag` (False when that cannot be told)."""
        try:
            return self.stat(key).etag == etag
        except AssetlensError:
            return False

    # -- internals: bucket, retries, error mapping --------------------------------------

    def _write(self, key: str, fn: Callable[[], T], attempts: _Attempts) -> T:
        """Run a write, creating the bucket first when needed (also if it vanished)."""
        self._ensure_bucket()
        try:
            return self._call("write", key, fn, attempts=attempts)
        except _BucketMissing:
            self._bucket_ready = False
            self._ensure_bucket()
            return self._call("write", key, fn, attempts=attempts)

    def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        with self._bucket_lock:
            if self._bucket_ready:
                return
            if not self._call(
                "look up bucket", None, lambda: self._client.bucket_exists(self._bucket)
            ):
                # _AlreadyOwned: another process created it meanwhile.
                with suppress(_AlreadyOwned):
                    self._call(
                        "create bucket", None, lambda: self._client.make_bucket(self._bucket)
                    )
            self._bucket_ready = True

    def _call(
        self,
        action: str,
        key: str | None,
        fn: Callable[[], T],
        *,
        retries: int | None = None,
        attempts: _Attempts | None = None,
    ) -> T:
        """Run `fn`, retrying transient failures with exponential backoff and jitter, and
        map every SDK and transport error to the core's errors."""
        limit = self._retries if retries is None else retries
        target = f" {key!r}" if key else f" (bucket {self._bucket!r})"
        reason = "unknown error"
        for attempt in range(limit + 1):
            try:
                return fn()
            except S3Error as exc:
                mapped = self._map_s3_error(exc, action, target)
                if mapped is not None:
                    raise mapped from exc
                reason = f"{exc.code} (HTTP {_status(exc)})"
            except ServerError as exc:
                reason = f"HTTP {exc.status_code}"
            except InvalidResponseError as exc:
                reason = f"unexpected non-XML response: {str(exc)[:200]}"
            except _Transient as exc:
                reason = exc.reason
            except (TransportError, OSError) as exc:
                reason = _describe_transport(exc)
            except (MinioException, ParseError) as exc:
                reason = f"{type(exc).__name__}: {str(exc)[:200]}"
            if attempts is not None:
                attempts.transient_failures += 1
            if attempt < limit:
                delay = min(self._backoff * 2**attempt, _MAX_DELAY)
                time.sleep(delay * self._random.uniform(0.5, 1.5))
        tries = "1 attempt" if limit == 0 else f"{limit + 1} attempts"
        raise StoreUnavailable(
            f"object store unavailable: could not {action}{target} after {tries}: {reason}"
        )

    def _map_s3_error(self, exc: S3Error, action: str, target: str) -> AssetlensError | None:
        """The core error for an S3 error response, or None when it is worth retrying."""
        code = exc.code or ""
        status = _status(exc)
        if code == "NoSuchBucket":
            self._bucket_ready = False
            return _BucketMissing(f"bucket {self._bucket!r} does not exist")
        if code == "NoSuchKey":
            return ObjectNotFound(f"no object{target}")
        if code == "PreconditionFailed" or status == 412:
            return PreconditionFailed(f"precondition failed for{target}")
        if code == "InvalidRange" or status == 416:
            return InvalidInput(f"byte range not satisfiable for{target}")
        if code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists") and action == "create bucket":
            return _AlreadyOwned(code)
        if code in _TRANSIENT_CODES or status >= 500 or status in (408, 429):
            return None
        if status == 404:
            return ObjectNotFound(f"no object{target} ({code})")
        # Credentials, permissions, bad requests: retrying will not help and the client
        # cannot fix it; report the store as unavailable with the server's reason.
        return StoreUnavailable(
            f"object store refused to {action}{target}: {code or 'error'} (HTTP {status})"
        )


class _AlreadyOwned(AssetlensError):
    """make_bucket lost a race with another creator (internal only)."""


def _status(exc: S3Error) -> int:
    response = getattr(exc, "response", None)
    return int(getattr(response, "status", 0) or 0)
