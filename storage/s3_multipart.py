"""Objects larger than one part: a multipart upload that reads one part at a time (memory
stays at about two parts), only becomes visible at CompleteMultipartUpload, and is aborted
on any failure."""

from __future__ import annotations

import hashlib
from contextlib import suppress
from typing import BinaryIO
from xml.etree.ElementTree import Element, SubElement, tostring

from assetlens.errors import (
    AssetlensError,
    InvalidInput,
    ObjectNotFound,
    PreconditionFailed,
    StoreUnavailable,
)
from assetlens.ports import ObjectInfo
from storage.s3_calls import BucketCalls
from storage.s3_errors import Attempts, Transient
from storage.s3_wire import unquote, xml_text


def read_part(src: BinaryIO, size: int) -> bytes:
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


def multipart_etag(part_md5s: list[bytes]) -> str:
    """The ETag S3 gives a multipart object (MD5 of the part MD5s, dash, part count)."""
    digest = hashlib.md5(b"".join(part_md5s), usedforsecurity=False).hexdigest()
    return f"{digest}-{len(part_md5s)}"


def put_multipart(
    calls: BucketCalls,
    key: str,
    pending: list[bytes],
    src: BinaryIO,
    size: int | None,
    content_type: str,
    create_only: bool,
    part_size: int,
) -> ObjectInfo:
    upload_id = calls.write(key, lambda: _start_upload(calls, key, content_type), Attempts())
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
            parts.append((number, _upload_part(calls, key, upload_id, number, part)))
            del part
            want = part_size if size is None else min(part_size, size - total + 1)
            part = read_part(src, want)
        if size is not None and total != size:
            raise InvalidInput(
                f"stream for {key!r} ended after {total} of the declared {size} bytes"
            )
        etag = _complete(calls, key, upload_id, parts, multipart_etag(md5s), create_only)
        completed = True
        return ObjectInfo(key=key, size=total, etag=etag)
    finally:
        if not completed:
            _abort(calls, key, upload_id)


def _start_upload(calls: BucketCalls, key: str, content_type: str) -> str:
    data = calls.request(
        "POST", key, headers={"Content-Type": content_type}, query={"uploads": ""}
    ).data
    upload_id = xml_text(data, "UploadId")
    if not upload_id:
        raise Transient("CreateMultipartUpload answered without an UploadId")
    return upload_id


def _upload_part(calls: BucketCalls, key: str, upload_id: str, number: int, data: bytes) -> str:
    def put() -> str:
        response = calls.request(
            "PUT", key, body=data, query={"partNumber": str(number), "uploadId": upload_id}
        )
        return unquote(response.headers.get("ETag", ""))

    return calls.call("upload a part of", key, put)


def _complete(
    calls: BucketCalls,
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
    attempts = Attempts()

    def complete() -> str:
        data = calls.request(
            "POST", key, body=body, headers=headers, query={"uploadId": upload_id}
        ).data
        # S3 may answer 200 and then report a failure in the body.
        if (code := xml_text(data, "Code")) is not None:
            if code == "PreconditionFailed":
                raise PreconditionFailed(f"object {key!r} already exists")
            raise Transient(f"CompleteMultipartUpload failed: {code}")
        return unquote(xml_text(data, "ETag") or "")

    try:
        return calls.call("complete the upload of", key, complete, attempts=attempts)
    except (PreconditionFailed, ObjectNotFound, StoreUnavailable):
        # An unanswered first attempt may have completed it: then a retry sees 412 or
        # NoSuchUpload although the object is ours.
        if attempts.transient_failures and calls.holds(key, expected_etag):
            return expected_etag
        raise


def _abort(calls: BucketCalls, key: str, upload_id: str) -> None:
    """Best effort: the parts of an unfinished upload are never visible as an object,
    and the server expires them if this fails too."""
    with suppress(AssetlensError):
        calls.call(
            "abort the upload of",
            key,
            lambda: calls.request("DELETE", key, query={"uploadId": upload_id}).close(),
            retries=1,
        )
