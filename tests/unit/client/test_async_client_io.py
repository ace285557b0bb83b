"""The async client keeps the event loop free while it reads an upload's file or writes a
download: every file access runs in a worker thread, so other tasks keep running."""

from __future__ import annotations

import asyncio
import io
import threading
from pathlib import Path

import httpx
import pytest

from assetlens.client import AsyncAssetlensClient

ASSET = {
    "id": "a" * 32,
    "name": "big.png",
    "type": "image",
    "mime": "image/png",
    "extension": "png",
    "size_bytes": 3,
    "sha256": "b" * 64,
    "status": "processing",
    "tags": [],
    "created_at": "2026-12-01T00:00:00Z",
    "updated_at": "2026-12-01T00:00:00Z",
}
BIG = bytes(range(256)) * 4096 * 8  # 8 MiB: 128 of httpx's 64 KiB multipart chunks
# Bounds a deadlock only (a read on the loop waits for a tick that cannot come), never
# a measured duration: a free loop ticks at once.
DEADLOCK_GUARD_S = 10.0


class Ticker:
    """A task that ticks while the loop is free; file calls wait for its next tick."""

    def __init__(self) -> None:
        self.loop_thread = threading.get_ident()
        self.ticked = threading.Event()
        self.ticks = 0
        self.waits = 0
        self.on_loop: list[str] = []
        self.starved: list[str] = []

    async def run(self, done: asyncio.Event) -> None:
        while not done.is_set():
            self.ticks += 1
            self.ticked.set()
            await asyncio.sleep(0)

    def file_call(self, what: str) -> None:
        """Called from inside a file method: records whether it runs on the loop, and waits
        until the loop has ticked again (which it can only do if this is not blocking it)."""
        if threading.get_ident() == self.loop_thread:
            self.on_loop.append(what)
            return  # waiting here would deadlock the loop; the record fails the test
        self.ticked.clear()
        self.waits += 1
        if not self.ticked.wait(DEADLOCK_GUARD_S):
            self.starved.append(what)


class WatchedUpload(io.BytesIO):
    def __init__(self, data: bytes, ticker: Ticker) -> None:
        super().__init__(data)
        self.ticker = ticker

    def read(self, size: int | None = -1, /) -> bytes:
        self.ticker.file_call("read")
        return super().read(size)


class WatchedDownload(io.BytesIO):
    def __init__(self, ticker: Ticker) -> None:
        super().__init__()
        self.ticker = ticker

    def write(self, data: bytes, /) -> int:  # type: ignore[override]
        self.ticker.file_call("write")
        return super().write(data)


async def _with_ticker(ticker: Ticker, work: asyncio.Future[object] | object) -> None:
    done = asyncio.Event()
    ticking = asyncio.create_task(ticker.run(done))
    try:
        await work  # type: ignore[misc]
    finally:
        done.set()
        await ticking


def test_upload_reads_the_file_off_the_loop_while_other_tasks_run() -> None:
    received: list[bytes] = []

    async def server(request: httpx.Request) -> httpx.Response:
        received.append(await request.aread())
        return httpx.Response(201, json=ASSET)

    async def scenario() -> Ticker:
        ticker = Ticker()
        client = AsyncAssetlensClient("http://test", "k", transport=httpx.MockTransport(server))
        async with client:
            await _with_ticker(
                ticker, client.upload(WatchedUpload(BIG, ticker), filename="big.png", tags=["x"])
            )
        return ticker

    ticker = asyncio.run(scenario())
    assert ticker.on_loop == [], "the upload's file was read on the event loop"
    assert ticker.starved == []
    assert ticker.waits > 128 and ticker.ticks >= ticker.waits, "the loop ticked between reads"
    assert len(received) == 1 and BIG in received[0]


def test_upload_from_a_path_sends_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(BIG)
    received: list[bytes] = []

    async def server(request: httpx.Request) -> httpx.Response:
        received.append(await request.aread())
        return httpx.Response(201, json=ASSET)

    async def scenario() -> None:
        async with AsyncAssetlensClient(
            "http://test", "k", transport=httpx.MockTransport(server)
        ) as client:
            await client.upload(path)

    asyncio.run(scenario())
    assert len(received) == 1 and BIG in received[0]
    assert b'filename="big.png"' in received[0]


@pytest.mark.parametrize("failures", [1, 2])
def test_upload_retries_send_the_whole_file_again(failures: int) -> None:
    bodies: list[bytes] = []

    async def server(request: httpx.Request) -> httpx.Response:
        bodies.append(await request.aread())
        if len(bodies) <= failures:
            return httpx.Response(503, headers={"Retry-After": "0"})
        return httpx.Response(201, json=ASSET)

    async def scenario() -> None:
        async with AsyncAssetlensClient(
            "http://test", "k", transport=httpx.MockTransport(server)
        ) as client:
            await client.upload(io.BytesIO(BIG), filename="big.png")

    asyncio.run(scenario())
    assert len(bodies) == failures + 1
    assert all(BIG in body for body in bodies)


def test_download_writes_off_the_loop(tmp_path: Path) -> None:
    async def server(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=BIG)

    async def scenario() -> tuple[Ticker, bytes]:
        ticker = Ticker()
        sink = WatchedDownload(ticker)
        async with AsyncAssetlensClient(
            "http://test", "k", transport=httpx.MockTransport(server)
        ) as client:
            await _with_ticker(ticker, client.download("a" * 32, sink))
            assert await client.download("a" * 32, tmp_path / "out.png") == len(BIG)
        return ticker, sink.getvalue()

    ticker, written = asyncio.run(scenario())
    assert ticker.on_loop == [] and ticker.starved == []
    assert written == BIG
    assert (tmp_path / "out.png").read_bytes() == BIG
    assert not (tmp_path / ".out.png.part").exists()
