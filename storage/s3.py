"""ObjectStore on S3 (MinIO in tests and CI) through the `minio` SDK.

Writes are atomic on the server: a single PUT for objects up to one part, otherwise a
multipart upload (s3_multipart.py) that only becomes visible at CompleteMultipartUpload and
is aborted on any failure. Conditional writes send real `If-None-Match: *` / `If-Match`
headers, so the check and the write are one step on the server (see `s3_wire.signed_request`
for how).

Every SDK and transport error is mapped to the core's errors (s3_errors.py), and transient
ones are retried with exponential backoff and jitter, then raised as StoreUnavailable
(s3_calls.py).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from minio import Minio
from minio.helpers import check_bucket_name

from assetlens.errors import InvalidInput, ObjectNotFound, PreconditionFailed
from assetlens.ports import NewObject, ObjectInfo, StoredObject
from storage.keys import validate_batch_keys, validate_key, validate_prefix
from storage.s3_calls import BucketCalls
from storage.s3_connect import clients_for
from storage.s3_errors import Attempts, BucketMissing
from storage.s3_multipart import put_multipart, read_part
from storage.s3_range import RangeStream
from storage.s3_wire import (
    check_header_value,
    info_from_headers,
    quoted,
    unquote,
)

if TYPE_CHECKING:
    from urllib3 import BaseHTTPResponse

    from assetlens.config import Settings

MiB = 1 << 20
PART_SIZE = 16 * MiB
MIN_PART_SIZE = 5 * MiB  # S3's floor for every part but the last
MAX_PRESIGN = timedelta(days=7)  # SigV4 query signatures cannot live longer
LIST_PAGE = 1000


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
        self._part_size = part_size
        self._calls = BucketCalls(client, bucket, retries=retries, backoff=backoff)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        retries: int = 4,
        backoff: float = 0.2,
        part_size: int = PART_SIZE,
    ) -> S3ObjectStore:
        """A store for `settings.s3_*` (timeouts from `s3_connect_timeout_seconds` and
        `s3_read_timeout_seconds` unless given); `check()` uses a second client with short
        timeouts. Raises ValueError for an endpoint that is not `http(s)://host[:port]`."""
        client, probe = clients_for(
            settings, connect_timeout=connect_timeout, read_timeout=read_timeout
        )
        return cls(
            client,
            settings.s3_bucket,
            retries=retries,
            backoff=backoff,
            part_size=part_size,
            probe_client=probe,
        )

    @property
    def bucket(self) -> str:
        """The bucket holding every key of this store."""
        return self._bucket

    @property
    def retries(self) -> int:
        """How many times a failing request is retried before StoreUnavailable."""
        return self._calls.retries

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
        check_header_value("content_type", content_type)
        if size is not None and size < 0:
            raise InvalidInput("size must not be negative")
        first_size = self._part_size if size is None else min(size + 1, self._part_size)
        first = read_part(src, first_size)
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
        return put_multipart(
            self._calls, key, pending, src, size, content_type, create_only, self._part_size
        )

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
        check_header_value("content_type", content_type)
        if if_match is not None and create_only:
            raise InvalidInput("if_match and create_only cannot be combined")
        headers = {"Content-Type": content_type}
        if if_match is not None:
            headers["If-Match"] = quoted(if_match)
        if create_only:
            headers["If-None-Match"] = "*"
        try:
            return self._put_single(
                key, bytes(data), headers, conditional=create_only or if_match is not None
            )
        except ObjectNotFound as exc:  # If-Match on a missing key: 404 NoSuchKey
            raise PreconditionFailed(f"object {key!r} does not exist") from exc

    def put_many(self, objects: Sequence[NewObject]) -> list[ObjectInfo]:
        """One PUT per object, in order: S3 has no sync to share between writes."""
        validate_batch_keys(obj.key for obj in objects)
        return [self.put_bytes(obj.key, obj.data, content_type=obj.content_type) for obj in objects]

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
            expected = quoted(if_match)
            try:
                current = self.stat(key)
            except ObjectNotFound as exc:
                raise PreconditionFailed(f"object {key!r} does not exist") from exc
            if current.etag != unquote(expected):
                raise PreconditionFailed(f"object {key!r} does not have ETag {if_match!r}")
            headers["If-Match"] = expected

        def remove() -> None:
            if headers:
                self._calls.request("DELETE", key, headers=headers)
            else:
                self._client.remove_object(self._bucket, key)

        try:
            self._calls.call("delete", key, remove)
        except BucketMissing:
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
            return StoredObject(data=data, info=info_from_headers(key, response, len(data)))

        return self._calls.call("read", key, read)

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
        return RangeStream(self._get, self.retries, key, response, start, end, chunk_size)

    def stat(self, key: str) -> ObjectInfo:
        """Size, ETag and modification time of `key`; ObjectNotFound when missing."""
        validate_key(key)
        obj = self._calls.call("stat", key, lambda: self._client.stat_object(self._bucket, key))
        return ObjectInfo(
            key=key, size=obj.size or 0, etag=unquote(obj.etag or ""), modified=obj.last_modified
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

    def local_path(self, key: str) -> Path | None:
        """None: objects live in the bucket (read them with `iter_range`)."""
        return None

    def presigned_get_url(
        self,
        key: str,
        expires: timedelta,
        *,
        content_type: str | None = None,
        content_disposition: str | None = None,
    ) -> str | None:
        """A SigV4 query-signed GET URL valid for `expires` (1 s to 7 days), optionally
        overriding the response's Content-Type / Content-Disposition (`response-*`
        parameters, covered by the signature). Computed locally: no request is made when
        the client knows its region."""
        validate_key(key)
        if not timedelta(seconds=1) <= expires <= MAX_PRESIGN:
            raise InvalidInput("presigned URL expiry must be between 1 second and 7 days")
        overrides: dict[str, str | list[str] | tuple[str]] = {
            name: value
            for name, value in (
                ("response-content-type", content_type),
                ("response-content-disposition", content_disposition),
            )
            if value
        }
        return self._calls.call(
            "sign a URL for",
            key,
            lambda: self._client.presigned_get_object(
                self._bucket, key, expires=expires, response_headers=overrides or None
            ),
        )

    # -- maintenance --------------------------------------------------------------------

    def check(self) -> None:
        """Raise StoreUnavailable unless the server answers a bucket lookup (through the
        probe client's short timeouts, retried once). A missing bucket is fine: it is
        created on the first write."""
        self._calls.call(
            "reach the bucket", None, lambda: self._probe.bucket_exists(self._bucket), retries=1
        )

    # -- internals: requests ------------------------------------------------------------

    def _get(self, key: str, headers: dict[str, str]) -> BaseHTTPResponse:
        """A streaming GET (the caller releases the response)."""
        return self._calls.call(
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
                keys = self._calls.call("list", prefix, page)
            except BucketMissing:
                return
            yield from keys
            if len(keys) < LIST_PAGE:
                return
            after = keys[-1]

    def _put_single(
        self, key: str, data: bytes, headers: dict[str, str], *, conditional: bool
    ) -> ObjectInfo:
        attempts = Attempts()

        def put() -> str:
            response = self._calls.request("PUT", key, body=data, headers=headers)
            return unquote(response.headers.get("ETag", ""))

        try:
            etag = self._calls.write(key, put, attempts)
        except (PreconditionFailed, ObjectNotFound):
            # After an attempt that got no answer, a 412 may be our own write having landed.
            # If the key now holds exactly our bytes (S3's ETag of a single PUT is their
            # MD5) the write is done; another writer storing identical bytes at that moment
            # gives the same result for content-addressed blobs and revisioned manifests.
            expected = hashlib.md5(data, usedforsecurity=False).hexdigest()
            if conditional and attempts.transient_failures and self._calls.holds(key, expected):
                etag = expected
            else:
                raise
        return ObjectInfo(key=key, size=len(data), etag=etag)
