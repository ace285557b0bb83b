"""Outages of a REAL MinIO: killed, hung (SIGSTOP) and killed mid-upload.

These tests start their own MinIO on free ports with its own services dir (and keep its
data across restarts), so the shared server other tests use keeps running. Every wait is
bounded: an operation still running after its limit fails the test instead of hanging it.
"""

from __future__ import annotations

import io
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from assetlens.errors import PreconditionFailed, StoreUnavailable
from storage.s3 import MiB, S3ObjectStore
from tests.integration.conftest import (
    SCRIPTS,
    RunningService,
    read_env_file,
    s3_settings,
)
from tests.integration.private_server import PrivateServer
from tests.support.processes import OP_LIMIT, bounded
from tests.support.server import free_port

pytestmark = pytest.mark.integration

MINIO = ["bash", str(SCRIPTS / "minio.sh")]


class PrivateMinio(PrivateServer):
    """A MinIO instance of our own, driven through scripts/minio.sh."""

    name = "MinIO"
    script = MINIO
    pid_file = "minio/minio.pid"

    def settings(self) -> dict[str, str]:
        return {
            "ASSETLENS_MINIO_PORT": str(free_port()),
            "ASSETLENS_MINIO_CONSOLE_PORT": str(free_port()),
            "ASSETLENS_MINIO_KEEP_DATA": "1",
        }

    def store(self, bucket: str = "outage", **options: object) -> S3ObjectStore:
        env = read_env_file(self.services / "minio.env")
        return S3ObjectStore.from_settings(s3_settings(env, bucket), **options)  # type: ignore[arg-type]


@pytest.fixture
def private_minio(tmp_path: Path) -> Iterator[PrivateMinio]:
    server = PrivateMinio(tmp_path / "services")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _operations(store: S3ObjectStore) -> dict[str, Callable[[], object]]:
    return {
        "put_bytes": lambda: store.put_bytes("new/a", b"x"),
        "put_bytes create_only": lambda: store.put_bytes("new/b", b"x", create_only=True),
        "put_bytes if_match": lambda: store.put_bytes("kept", b"x", if_match="abc"),
        "put_stream": lambda: store.put_stream("new/c", io.BytesIO(b"x" * 1000)),
        "put_stream sized": lambda: store.put_stream("new/d", io.BytesIO(b"xy"), size=2),
        "get_bytes": lambda: store.get_bytes("kept"),
        "iter_range": lambda: store.iter_range("kept", 1, 3),
        "stat": lambda: store.stat("kept"),
        "exists": lambda: store.exists("kept"),
        "delete": lambda: store.delete("kept"),
        "delete if_match": lambda: store.delete("kept", if_match="abc"),
        "list_keys": lambda: list(store.list_keys("")),
        "check": store.check,
    }


def test_every_operation_fails_fast_while_the_server_is_down(
    private_minio: PrivateMinio,
) -> None:
    store = private_minio.store(retries=2, backoff=0.05)
    defaults = private_minio.store()
    store.put_bytes("kept", b"still here")
    defaults.stat("kept")  # both stores have pooled connections to the old process now
    private_minio.kill()

    for name, operation in _operations(store).items():
        error = bounded(operation)
        assert isinstance(error, StoreUnavailable), f"{name}: {error!r}"
        assert error.status == 503
        assert "unavailable" in error.detail, f"{name}: {error.detail}"
    # The default retry policy (4 retries, backoff from 0.2 s) is bounded too.
    for operation in (lambda: defaults.stat("kept"), defaults.check):
        assert isinstance(bounded(operation), StoreUnavailable)
    # Signing is local: a URL can be made while the server is down.
    assert store.presigned_get_url("kept", timedelta(minutes=1)) is not None

    private_minio.start()
    assert store.get_bytes("kept").data == b"still here"
    store.check()
    defaults.check()


def test_a_hung_server_is_bounded_by_the_timeouts(private_minio: PrivateMinio) -> None:
    store = private_minio.store(connect_timeout=1.0, read_timeout=1.0, retries=0)
    defaults = private_minio.store()
    store.put_bytes("kept", b"still here")
    private_minio.pause()
    try:
        for name, operation in _operations(store).items():
            error = bounded(operation)
            assert isinstance(error, StoreUnavailable), f"{name}: {error!r}"
        # check() uses its own short-timeout client, whatever the store's read timeout.
        error = bounded(defaults.check)
        assert isinstance(error, StoreUnavailable), repr(error)
    finally:
        private_minio.resume()
    assert bounded(lambda: store.get_bytes("kept")) is None


class _SlowStream(io.RawIOBase):
    """A slow, non-seekable upload source; sets `reached` once `threshold` bytes were read."""

    def __init__(self, size: int, threshold: int) -> None:
        self._left = size
        self._threshold = threshold
        self.total = 0
        self.reached = threading.Event()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), 256 * 1024, self._left)
        buffer[:n] = b"\xab" * n
        self._left -= n
        self.total += n
        if self.total >= self._threshold:
            self.reached.set()
        time.sleep(0.002)
        return n


@pytest.mark.parametrize("existing", [False, True], ids=["new-key", "overwrite"])
def test_server_killed_mid_upload_leaves_no_partial_object(
    private_minio: PrivateMinio, existing: bool
) -> None:
    store = private_minio.store(retries=2, backoff=0.05, part_size=5 * MiB)
    key = "uploads/victim.bin"
    store.put_bytes("uploads/before.bin", b"written before the crash")
    if existing:
        old = store.put_bytes(key, b"the previous version")
    src = _SlowStream(60 * MiB, threshold=12 * MiB)

    def killer() -> None:
        if src.reached.wait(OP_LIMIT):
            private_minio.kill()

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    error = bounded(lambda: store.put_stream(key, src))  # type: ignore[arg-type]
    thread.join(OP_LIMIT)
    assert isinstance(error, StoreUnavailable), repr(error)
    assert src.total < 60 * MiB  # gave up instead of draining the stream

    private_minio.start()  # same data dir (ASSETLENS_MINIO_KEEP_DATA=1)
    assert store.get_bytes("uploads/before.bin").data == b"written before the crash"
    if existing:
        got = store.get_bytes(key)
        assert (got.data, got.info.etag) == (b"the previous version", old.etag)
        assert list(store.list_keys("uploads/")) == ["uploads/before.bin", key]
    else:
        assert not store.exists(key)
        assert list(store.list_keys("uploads/")) == ["uploads/before.bin"]
    # The same store object recovers once the server is back.
    info = store.put_stream(key, io.BytesIO(b"retry works"), size=11)
    assert store.stat(key).etag == info.etag


# -- dropped connections (a TCP proxy in front of the shared MinIO) ---------------------


class FlakyProxy:
    """A loopback TCP proxy that, once armed, lets a request whose first bytes contain
    `trigger` reach the server and then cuts its response after `keep` bytes, closing the
    connection, as a broken network or a restarted load balancer does. One-shot."""

    def __init__(self, upstream_port: int) -> None:
        self._upstream = ("127.0.0.1", upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._trigger: bytes | None = None
        self._keep = 0
        self.fired = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, trigger: bytes, keep: int = 0) -> None:
        with self._lock:
            self._trigger, self._keep = trigger, keep
            self.fired.clear()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._upstream, timeout=30)
            budget: list[int | None] = [None]  # bytes of the current response still allowed
            threading.Thread(target=self._up, args=(client, server, budget), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client, budget), daemon=True).start()

    def _up(self, client: socket.socket, server: socket.socket, budget: list[int | None]) -> None:
        with suppress(OSError):
            while data := client.recv(1 << 16):
                with self._lock:
                    if self._trigger is not None and self._trigger in data:
                        budget[0], self._trigger = self._keep, None
                server.sendall(data)
        _close(client, server)

    def _down(self, server: socket.socket, client: socket.socket, budget: list[int | None]) -> None:
        with suppress(OSError):
            while data := server.recv(1 << 16):
                allowed = budget[0]
                if allowed is not None and allowed < len(data):
                    client.sendall(data[:allowed])
                    self.fired.set()
                    break
                if allowed is not None:
                    budget[0] = allowed - len(data)
                client.sendall(data)
        _close(client, server)


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()


@pytest.fixture
def flaky(
    minio_service: RunningService, s3_bucket: str
) -> Iterator[tuple[FlakyProxy, S3ObjectStore]]:
    """A store on a fresh bucket of the shared MinIO, reached through a FlakyProxy."""
    upstream = urlsplit(minio_service.env["ASSETLENS_S3_ENDPOINT"])
    proxy = FlakyProxy(int(upstream.port or 80))
    env = {**minio_service.env, "ASSETLENS_S3_ENDPOINT": f"http://127.0.0.1:{proxy.port}"}
    store = S3ObjectStore.from_settings(s3_settings(env, s3_bucket), backoff=0.05)
    try:
        yield proxy, store
    finally:
        proxy.close()


def test_conditional_put_whose_answer_is_lost_still_succeeds(
    flaky: tuple[FlakyProxy, S3ObjectStore],
) -> None:
    """The server applies the PUT, the answer never arrives, the retry gets 412: the store
    sees that the key holds exactly its bytes and reports success, not a false conflict."""
    proxy, store = flaky
    store.put_bytes("warmup", b"creates the bucket")
    proxy.arm(b"PUT /")
    info = store.put_bytes("blobs/once", b"content-addressed", create_only=True)
    assert proxy.fired.is_set()
    assert store.stat("blobs/once").etag == info.etag

    proxy.arm(b"PUT /")
    v2 = store.put_bytes("blobs/once", b"second revision", if_match=info.etag)
    assert proxy.fired.is_set()
    got = store.get_bytes("blobs/once")
    assert (got.data, got.info.etag) == (b"second revision", v2.etag)

    # A real conflict behind a lost answer stays a conflict.
    with pytest.raises(PreconditionFailed):
        store.put_bytes("blobs/once", b"third", create_only=True)


def test_multipart_completion_whose_answer_is_lost_still_succeeds(
    flaky: tuple[FlakyProxy, S3ObjectStore],
) -> None:
    proxy, store = flaky
    store.put_bytes("warmup", b"creates the bucket")
    proxy.arm(b"POST /" + store.bucket.encode() + b"/big?uploadId=")
    data = random.Random(3).randbytes(17 * MiB)
    info = store.put_stream("big", io.BytesIO(data), create_only=True)
    assert proxy.fired.is_set()
    assert info.etag.endswith("-2")
    assert store.stat("big").etag == info.etag
    assert store.get_bytes("big").data == data


def test_ranged_read_resumes_after_a_dropped_connection(
    flaky: tuple[FlakyProxy, S3ObjectStore],
) -> None:
    proxy, store = flaky
    data = random.Random(4).randbytes(3 * MiB)
    store.put_bytes("ranged", data)
    proxy.arm(b"GET /" + store.bucket.encode() + b"/ranged", keep=700_000)
    got = b"".join(store.iter_range("ranged", 1000, None, chunk_size=100_000))
    assert proxy.fired.is_set()
    assert got == data[1000:]
