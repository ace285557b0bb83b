"""The S3 adapter against a REAL MinIO: the shared ObjectStore contract, unchanged, plus
what only S3 has (multipart uploads, presigned URLs, server-side conditional completion)."""

from __future__ import annotations

import hashlib
import io
import random
import time
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from assetlens.errors import InvalidInput, ObjectNotFound, PreconditionFailed
from storage.s3 import MiB, S3ObjectStore
from tests.contract.object_store_contract import ObjectStoreContract
from tests.integration.conftest import RunningService, admin_client, s3_settings

pytestmark = pytest.mark.integration


class TestS3ObjectStore(ObjectStoreContract):
    @pytest.fixture
    def store(self, s3_store: S3ObjectStore) -> S3ObjectStore:
        return s3_store


class _Stream(io.RawIOBase):
    """A non-seekable source of `size` pseudo-random bytes (no len, no seek), handing out
    at most `step` bytes per read; `on_read(total)` runs after each read."""

    def __init__(
        self, size: int, step: int = 1 << 20, on_read: Callable[[int], None] | None = None
    ) -> None:
        self._rng = random.Random(size)
        self._left = size
        self._step = step
        self._on_read = on_read
        self.total = 0
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self._step, self._left)
        data = self._rng.randbytes(n)
        buffer[:n] = data
        self.sha256.update(data)
        self._left -= n
        self.total += n
        if self._on_read is not None:
            self._on_read(self.total)
        return n


def _sha256_of(store: S3ObjectStore, key: str) -> str:
    digest = hashlib.sha256()
    for chunk in store.iter_range(key, chunk_size=MiB):
        digest.update(chunk)
    return digest.hexdigest()


def test_unknown_size_upload_of_40_mib_is_multipart_and_reads_back(
    s3_store: S3ObjectStore,
) -> None:
    src = _Stream(40 * MiB)
    info = s3_store.put_stream("big/unknown-size.bin", src)  # type: ignore[arg-type]
    assert info.size == 40 * MiB == src.total
    # S3 gives a multipart object the ETag "<md5 of part md5s>-<parts>": 16+16+8 MiB.
    assert info.etag.endswith("-3")
    assert s3_store.stat("big/unknown-size.bin").etag == info.etag
    assert _sha256_of(s3_store, "big/unknown-size.bin") == src.sha256.hexdigest()


def test_streamed_upload_memory_is_bounded_by_the_part_size(
    minio_service: RunningService, s3_bucket: str
) -> None:
    settings = s3_settings(minio_service.env, s3_bucket)
    store = S3ObjectStore.from_settings(settings, part_size=5 * MiB)
    tracemalloc.start()
    try:
        info = store.put_stream("big/bounded.bin", _Stream(40 * MiB))  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.etag.endswith("-8")
    # The part being uploaded, the next one being read and its joined copy: 3 parts,
    # not the 40 MiB of the stream.
    assert peak < 3 * 5 * MiB, f"peak {peak / MiB:.1f} MiB"


def test_declared_size_multipart_mismatch_aborts(s3_store: S3ObjectStore) -> None:
    for declared in (40 * MiB - 1, 40 * MiB + 1, 33 * MiB):
        with pytest.raises(InvalidInput):
            s3_store.put_stream("big/liar.bin", _Stream(40 * MiB), size=declared)  # type: ignore[arg-type]
    assert not s3_store.exists("big/liar.bin")
    assert list(s3_store.list_keys("big/")) == []


def test_create_only_multipart_loses_a_race_at_completion(s3_store: S3ObjectStore) -> None:
    """Another writer creates the key after the early existence check, while the parts
    upload: the server refuses the completion (If-None-Match: *) and the winner stays."""
    key = "big/contended.bin"

    def writer_sneaks_in(total: int) -> None:
        if total == 20 * MiB:
            s3_store.put_bytes(key, b"the other writer won")

    with pytest.raises(PreconditionFailed):
        s3_store.put_stream(key, _Stream(40 * MiB, on_read=writer_sneaks_in), create_only=True)  # type: ignore[arg-type]
    assert s3_store.get_bytes(key).data == b"the other writer won"


def test_create_only_multipart_on_a_new_key_and_an_existing_one(s3_store: S3ObjectStore) -> None:
    key = "big/once.bin"
    src = _Stream(17 * MiB)
    info = s3_store.put_stream(key, src, size=17 * MiB, create_only=True)  # type: ignore[arg-type]
    assert info.etag.endswith("-2")
    with pytest.raises(PreconditionFailed):
        s3_store.put_stream(key, _Stream(17 * MiB), create_only=True)  # type: ignore[arg-type]
    assert _sha256_of(s3_store, key) == src.sha256.hexdigest()


def test_presigned_url_downloads_then_expires(s3_store: S3ObjectStore) -> None:
    s3_store.put_bytes("signed/a.txt", b"hello signed world", content_type="text/plain")
    url = s3_store.presigned_get_url("signed/a.txt", timedelta(minutes=5))
    assert url is not None
    assert "X-Amz-Signature=" in url
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == b"hello signed world"
    assert response.headers["content-type"] == "text/plain"

    short = s3_store.presigned_get_url("signed/a.txt", timedelta(seconds=1))
    assert short is not None
    time.sleep(2)
    assert httpx.get(short, timeout=10).status_code == 403


def test_presigned_url_with_a_changed_signature_byte_is_refused(s3_store: S3ObjectStore) -> None:
    s3_store.put_bytes("signed/b.txt", b"secret")
    url = s3_store.presigned_get_url("signed/b.txt", timedelta(minutes=5))
    assert url is not None
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    tampered = []
    for name, value in query:
        if name == "X-Amz-Signature":
            value = value[:10] + ("0" if value[10] != "0" else "1") + value[11:]
        tampered.append((name, value))
    bad = urlunsplit(parts._replace(query=urlencode(tampered)))
    assert bad != url
    assert httpx.get(bad, timeout=10).status_code == 403
    assert httpx.get(url, timeout=10).status_code == 200


def test_presigned_url_expiry_limits(s3_store: S3ObjectStore) -> None:
    for expires in (timedelta(days=7, seconds=1), timedelta(0), timedelta(seconds=-5)):
        with pytest.raises(InvalidInput):
            s3_store.presigned_get_url("signed/c.txt", expires)
    assert s3_store.presigned_get_url("signed/c.txt", timedelta(days=7)) is not None


def test_bucket_is_created_lazily_on_first_write(
    minio_service: RunningService, s3_bucket: str
) -> None:
    admin = admin_client(minio_service.env)
    store = S3ObjectStore.from_settings(s3_settings(minio_service.env, s3_bucket))
    store.check()
    assert not store.exists("a")
    assert list(store.list_keys("")) == []
    with pytest.raises(ObjectNotFound):
        store.get_bytes("a")
    store.delete("a")
    assert not admin.bucket_exists(s3_bucket)
    store.put_bytes("a", b"1")
    assert admin.bucket_exists(s3_bucket)
    assert store.get_bytes("a").data == b"1"


def test_bucket_removed_behind_the_stores_back_is_recreated(
    minio_service: RunningService, s3_bucket: str
) -> None:
    admin = admin_client(minio_service.env)
    store = S3ObjectStore.from_settings(s3_settings(minio_service.env, s3_bucket))
    store.put_bytes("a", b"1")
    admin.remove_object(s3_bucket, "a")
    admin.remove_bucket(s3_bucket)
    store.put_bytes("b", b"2")
    assert store.get_bytes("b").data == b"2"


def test_content_type_is_stored_and_header_injection_refused(s3_store: S3ObjectStore) -> None:
    s3_store.put_bytes("typed.json", b"{}", content_type="application/json")
    s3_store.put_stream("typed.png", io.BytesIO(b"png"), content_type="image/png")
    url = s3_store.presigned_get_url("typed.json", timedelta(minutes=1))
    assert url is not None
    assert httpx.get(url, timeout=10).headers["content-type"] == "application/json"
    for bad in ("text/plain\r\nX-Evil: 1", "", "tëxt/plain"):
        with pytest.raises(InvalidInput):
            s3_store.put_bytes("typed.bad", b"x", content_type=bad)
    assert not s3_store.exists("typed.bad")


def test_if_match_accepts_quoted_etags_and_refuses_odd_ones(s3_store: S3ObjectStore) -> None:
    v1 = s3_store.put_bytes("cas", b"1")
    v2 = s3_store.put_bytes("cas", b"2", if_match=f'"{v1.etag}"')
    for odd in ("", "abc\r\nX-Evil: 1", "é"):
        with pytest.raises(PreconditionFailed):
            s3_store.put_bytes("cas", b"3", if_match=odd)
        with pytest.raises(PreconditionFailed):
            s3_store.delete("cas", if_match=odd)
    assert s3_store.get_bytes("cas").info.etag == v2.etag


def test_listing_pages_past_a_thousand_keys(s3_store: S3ObjectStore) -> None:
    keys = [f"many/{i:05d}" for i in range(1005)]
    for key in keys:
        s3_store.put_bytes(key, b"")
    assert list(s3_store.list_keys("many/")) == keys


def test_abandoned_range_reads_release_their_connections(s3_store: S3ObjectStore) -> None:
    data = random.Random(5).randbytes(4 * MiB)
    s3_store.put_bytes("ranged", data)
    for _ in range(40):  # more than the pool holds: leaked connections would show
        stream = s3_store.iter_range("ranged", chunk_size=1000)
        assert next(stream) == data[:1000]
        stream.close()  # type: ignore[attr-defined]
        assert list(stream) == []
    assert b"".join(s3_store.iter_range("ranged", 5, 9)) == data[5:10]
