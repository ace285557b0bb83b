"""A fault-injecting TCP proxy: put it in front of Elasticsearch or MinIO and switch, at run
time, between passing traffic through, delaying it, resetting connections, blackholing them
and resetting a connection once it has sent N bytes upstream.

Used in-process by tests/faults (`ThreadedFaultProxy`) and from the command line for the
long runs in docs/RELIABILITY.md:

    python -m tests.support.faultproxy --listen 19200 --upstream 127.0.0.1:9200 --control 19299
    curl -X POST 'http://127.0.0.1:19299/mode?set=blackhole'
    curl -X POST 'http://127.0.0.1:19299/mode?set=latency&ms=200&jitter=50'
    curl -X POST 'http://127.0.0.1:19299/mode?set=reset_after&bytes=1048576'
    curl http://127.0.0.1:19299/stats

Modes, applied to every chunk of every connection, new and existing:
- pass: bytes flow unchanged.
- latency: each chunk waits `ms` ± `jitter` milliseconds before it is forwarded.
- reset: existing connections are reset (RST) and new ones are reset as soon as accepted.
- blackhole: connections are accepted and read, but nothing is forwarded or answered; when
  the mode changes, the connections that lost bytes are reset (their stream is broken).
- reset_after: a connection that has sent more than `bytes` upstream since the mode was set
  is reset after forwarding exactly that many (a server dying mid-upload).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import socket
import struct
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs, urlsplit

CHUNK = 64 * 1024


class Mode(StrEnum):
    """What the proxy does to traffic."""

    PASS = "pass"
    LATENCY = "latency"
    RESET = "reset"
    BLACKHOLE = "blackhole"
    RESET_AFTER = "reset_after"


@dataclass(frozen=True)
class Fault:
    """A mode with its parameters."""

    mode: Mode = Mode.PASS
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    reset_after_bytes: int = 0

    def delay(self, rng: random.Random) -> float:
        """Seconds to hold one chunk (latency mode)."""
        spread = rng.uniform(-self.jitter_ms, self.jitter_ms) if self.jitter_ms else 0.0
        return max(0.0, self.latency_ms + spread) / 1000.0


@dataclass
class Stats:
    """Counters since the proxy started; `resets` counts connections this proxy broke."""

    accepted: int = 0
    resets: int = 0
    blackholed_bytes: int = 0
    bytes_up: int = 0
    bytes_down: int = 0


@dataclass(eq=False)
class _Connection:
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter | None = None
    sent_up: int = 0  # bytes forwarded upstream since the current fault was set
    broken: bool = False  # lost bytes to a blackhole: must not carry traffic again
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def _reset(writer: asyncio.StreamWriter | None) -> None:
    """Close with an RST rather than a FIN (SO_LINGER 0), as a crashed peer's kernel would."""
    if writer is None or writer.transport.is_closing():
        return
    sock = writer.transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    """The asyncio proxy; every method runs on its event loop."""

    def __init__(
        self,
        upstream: tuple[str, int],
        listen: tuple[str, int] = ("127.0.0.1", 0),
        *,
        seed: int = 0,
    ) -> None:
        self.upstream = upstream
        self.listen = listen
        self.fault = Fault()
        self.stats = Stats()
        self._rng = random.Random(seed)
        self._connections: set[_Connection] = set()
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The port it listens on (useful with port 0)."""
        assert self._server is not None, "not started"
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, *self.listen)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self._connections):
            self._close(conn, reset=True)
        if self._server is not None:
            await self._server.wait_closed()

    def set_fault(self, fault: Fault) -> None:
        """Switch mode. Connections a blackhole broke and, for `reset`, every connection,
        are reset now; byte counts for `reset_after` start again from zero."""
        self.fault = fault
        for conn in list(self._connections):
            conn.sent_up = 0
            if fault.mode is Mode.RESET or (conn.broken and fault.mode is not Mode.BLACKHOLE):
                self._close(conn, reset=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.accepted += 1
        conn = _Connection(writer)
        if self.fault.mode is Mode.RESET:
            self._close(conn, reset=True)
            return
        self._connections.add(conn)
        upstream_reader: asyncio.StreamReader | None = None
        if self.fault.mode is not Mode.BLACKHOLE:
            try:
                upstream_reader, conn.server = await asyncio.open_connection(*self.upstream)
            except OSError:
                self._close(conn, reset=True)
                return
        else:
            conn.broken = True  # accepted into the void: never connected upstream
        up = asyncio.ensure_future(self._pump(conn, reader, upstream=True))
        conn.tasks.append(up)
        if upstream_reader is not None:
            conn.tasks.append(
                asyncio.ensure_future(self._pump(conn, upstream_reader, upstream=False))
            )
        await asyncio.gather(*conn.tasks, return_exceptions=True)
        self._close(conn, reset=False)

    async def _pump(
        self, conn: _Connection, reader: asyncio.StreamReader, *, upstream: bool
    ) -> None:
        target = conn.server if upstream else conn.client
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(CHUNK):
                fault = self.fault
                if fault.mode is Mode.BLACKHOLE or conn.broken or target is None:
                    conn.broken = True
                    self.stats.blackholed_bytes += len(data)
                    continue
                if fault.mode is Mode.RESET:
                    self._close(conn, reset=True)
                    return
                if fault.mode is Mode.LATENCY:
                    await asyncio.sleep(fault.delay(self._rng))
                if upstream and fault.mode is Mode.RESET_AFTER:
                    allowed = fault.reset_after_bytes - conn.sent_up
                    if len(data) > allowed:
                        self.stats.bytes_up += max(allowed, 0)
                        target.write(data[: max(allowed, 0)])
                        with contextlib.suppress(OSError, ConnectionError):
                            await target.drain()
                        self._close(conn, reset=True)
                        return
                    conn.sent_up += len(data)
                # Counted before the write: the peer may answer before this task resumes.
                if upstream:
                    self.stats.bytes_up += len(data)
                else:
                    self.stats.bytes_down += len(data)
                target.write(data)
                await target.drain()
            # A half-close: pass the FIN on, keep the other direction open.
            if target is not None and target.can_write_eof() and not target.is_closing():
                target.write_eof()

    def _close(self, conn: _Connection, *, reset: bool) -> None:
        if conn not in self._connections and not reset:
            return
        self._connections.discard(conn)
        if reset:
            self.stats.resets += 1
            _reset(conn.client)
            _reset(conn.server)
        else:
            for writer in (conn.client, conn.server):
                if writer is not None:
                    writer.close()
        for task in conn.tasks:
            if task is not asyncio.current_task():
                task.cancel()


class ThreadedFaultProxy:
    """A FaultProxy on its own event loop thread, driven from synchronous code (tests)."""

    def __init__(self, upstream: tuple[str, int], *, seed: int = 0) -> None:
        self._loop = asyncio.new_event_loop()
        self._proxy = FaultProxy(upstream, seed=seed)
        self._thread = threading.Thread(
            target=self._loop.run_forever, daemon=True, name="faultproxy"
        )
        self._thread.start()
        self._call(self._proxy.start())

    def _call(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    @property
    def port(self) -> int:
        return self._proxy.port

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`: the address to give a client instead of upstream's."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def stats(self) -> Stats:
        return self._proxy.stats

    def set(
        self, mode: Mode | str, *, ms: float = 0.0, jitter: float = 0.0, after: int = 0
    ) -> None:
        """Switch mode (see the module docstring); returns once it applies."""
        fault = Fault(Mode(mode), latency_ms=ms, jitter_ms=jitter, reset_after_bytes=after)

        async def apply() -> None:
            self._proxy.set_fault(fault)

        self._call(apply())

    def close(self) -> None:
        self._call(self._proxy.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()


@contextlib.contextmanager
def fault_proxy(upstream: tuple[str, int], *, seed: int = 0) -> Iterator[ThreadedFaultProxy]:
    """A running ThreadedFaultProxy for the length of the block."""
    proxy = ThreadedFaultProxy(upstream, seed=seed)
    try:
        yield proxy
    finally:
        proxy.close()


# -- the command line: a control endpoint speaking just enough HTTP ----------------------


def parse_fault(query: str) -> Fault:
    """`set=latency&ms=200&jitter=50` → Fault; ValueError on an unknown mode or number."""
    params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    return Fault(
        Mode(params.get("set", "pass")),
        latency_ms=float(params.get("ms", 0)),
        jitter_ms=float(params.get("jitter", 0)),
        reset_after_bytes=int(params.get("bytes", 0)),
    )


async def _control(
    proxy: FaultProxy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    body: dict[str, object] = {"error": "POST /mode?set=..., GET /stats"}
    status = 404
    with contextlib.suppress(ValueError, OSError, asyncio.IncompleteReadError):
        request = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        method, target, _ = request.split("\r\n", 1)[0].split(" ", 2)
        url = urlsplit(target)
        if url.path == "/stats":
            status, body = 200, {"fault": asdict(proxy.fault), "stats": asdict(proxy.stats)}
        elif url.path == "/mode" and method == "POST":
            try:
                proxy.set_fault(parse_fault(url.query))
                status, body = 200, {"fault": asdict(proxy.fault)}
            except ValueError as exc:
                status, body = 400, {"error": str(exc)}
    payload = json.dumps(body).encode()
    writer.write(
        f"HTTP/1.0 {status} X\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n".encode()
        + payload
    )
    with contextlib.suppress(OSError):
        await writer.drain()
    writer.close()


async def _serve(args: argparse.Namespace) -> None:
    host, _, port = args.upstream.rpartition(":")
    proxy = FaultProxy((host or "127.0.0.1", int(port)), (args.host, args.listen))
    await proxy.start()
    control = await asyncio.start_server(
        lambda r, w: _control(proxy, r, w), args.host, args.control
    )
    print(
        f"faultproxy {args.host}:{proxy.port} -> {args.upstream}; "
        f"control http://{args.host}:{control.sockets[0].getsockname()[1]}",
        flush=True,
    )
    async with control:
        await control.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.faultproxy",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--listen", type=int, required=True, help="port to accept on")
    parser.add_argument("--upstream", required=True, help="host:port to forward to")
    parser.add_argument("--control", type=int, default=0, help="control endpoint port")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (both ports)")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
