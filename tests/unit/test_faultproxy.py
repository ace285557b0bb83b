"""The fault-injecting proxy itself, in front of a loopback echo server."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.support.faultproxy import (
    Fault,
    FaultProxy,
    Mode,
    ThreadedFaultProxy,
    _control,
    fault_proxy,
    parse_fault,
)


class EchoServer:
    """Echoes every byte back and remembers how many it received per connection."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.received: list[int] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    def _echo(self, conn: socket.socket) -> None:
        with self.lock:
            slot = len(self.received)
            self.received.append(0)
        with conn:
            try:
                while data := conn.recv(65536):
                    with self.lock:
                        self.received[slot] += len(data)
                    conn.sendall(data)
            except OSError:
                pass

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


@pytest.fixture
def proxy(echo: EchoServer) -> Iterator[ThreadedFaultProxy]:
    with fault_proxy(("127.0.0.1", echo.port)) as running:
        yield running


def connect(proxy: ThreadedFaultProxy, timeout: float = 10.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=timeout)


def roundtrip(sock: socket.socket, data: bytes) -> bytes:
    sock.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        got += chunk
    return got


def send_until_broken(sock: socket.socket, data: bytes) -> None:
    """Send `data` and read until the peer goes away; the RST surfaces as an OSError."""
    with sock:
        sock.sendall(data)
        while sock.recv(65536):
            pass


def test_pass_forwards_both_ways(proxy: ThreadedFaultProxy) -> None:
    with connect(proxy) as sock:
        payload = bytes(range(256)) * 1000
        assert roundtrip(sock, payload) == payload
        assert proxy.stats.bytes_up == proxy.stats.bytes_down == len(payload)


def test_latency_holds_each_chunk_at_least_the_delay(proxy: ThreadedFaultProxy) -> None:
    proxy.set(Mode.LATENCY, ms=150, jitter=20)
    with connect(proxy) as sock:
        started = time.monotonic()
        assert roundtrip(sock, b"ping") == b"ping"
        # A lower bound only: both directions are delayed, whatever the machine's speed.
        assert time.monotonic() - started >= 2 * 0.130


def test_reset_breaks_existing_and_new_connections(proxy: ThreadedFaultProxy) -> None:
    with connect(proxy) as sock:
        assert roundtrip(sock, b"before") == b"before"
        proxy.set(Mode.RESET)
        with pytest.raises(ConnectionResetError):
            roundtrip(sock, b"after")
    with pytest.raises((ConnectionResetError, BrokenPipeError)):
        send_until_broken(connect(proxy), b"new")  # may already fail to connect
    assert proxy.stats.resets >= 2
    proxy.set(Mode.PASS)
    with connect(proxy) as again:
        assert roundtrip(again, b"healed") == b"healed"


def test_blackhole_swallows_then_resets_the_broken_connections(
    proxy: ThreadedFaultProxy,
) -> None:
    with connect(proxy) as old:
        assert roundtrip(old, b"x") == b"x"
        proxy.set(Mode.BLACKHOLE)
        with connect(proxy, timeout=0.5) as new:
            new.sendall(b"into the void")
            old.sendall(b"lost too")
            for sock in (new, old):
                sock.settimeout(0.5)
                with pytest.raises(TimeoutError):
                    sock.recv(10)
            while proxy.stats.blackholed_bytes < len(b"into the void" + b"lost too"):
                time.sleep(0.01)  # both were read by the proxy, bounded by pytest-timeout
            proxy.set(Mode.PASS)
            for sock in (new, old):
                sock.settimeout(10)
                with pytest.raises(ConnectionResetError):
                    sock.recv(10)
    with connect(proxy) as healed:
        assert roundtrip(healed, b"back") == b"back"


def test_reset_after_forwards_exactly_n_bytes_then_resets(
    proxy: ThreadedFaultProxy, echo: EchoServer
) -> None:
    with connect(proxy) as warm:
        assert roundtrip(warm, b"w" * 5000) == b"w" * 5000
        proxy.set(Mode.RESET_AFTER, after=20_000)  # counted afresh from here
        with pytest.raises((ConnectionResetError, BrokenPipeError)):
            send_until_broken(warm, b"u" * 200_000)
    deadline = time.monotonic() + 10
    while echo.received[0] < 25_000 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert echo.received[0] == 5000 + 20_000
    with connect(proxy) as small:  # a request under the limit still goes through
        assert roundtrip(small, b"s" * 1000) == b"s" * 1000


def test_parse_fault_reads_the_control_query() -> None:
    assert parse_fault("set=latency&ms=200&jitter=50") == Fault(Mode.LATENCY, 200, 50)
    assert parse_fault("set=reset_after&bytes=1024") == Fault(
        Mode.RESET_AFTER, reset_after_bytes=1024
    )
    assert parse_fault("") == Fault()
    with pytest.raises(ValueError):
        parse_fault("set=meltdown")
    with pytest.raises(ValueError):
        parse_fault("set=latency&ms=soon")


def test_control_endpoint_switches_mode_and_reports_stats() -> None:
    async def scenario() -> list[bytes]:
        proxy = FaultProxy(("127.0.0.1", 9))
        await proxy.start()
        control = await asyncio.start_server(lambda r, w: _control(proxy, r, w), "127.0.0.1", 0)
        port = control.sockets[0].getsockname()[1]
        answers = []
        for request in (
            b"POST /mode?set=blackhole HTTP/1.1\r\nHost: x\r\n\r\n",
            b"POST /mode?set=nope HTTP/1.1\r\n\r\n",
            b"GET /stats HTTP/1.1\r\n\r\n",
        ):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            answers.append(await reader.read())
            writer.close()
        control.close()
        await proxy.stop()
        assert proxy.fault.mode is Mode.BLACKHOLE
        return answers

    ok, bad, stats = asyncio.run(scenario())
    assert ok.startswith(b"HTTP/1.0 200") and b'"blackhole"' in ok
    assert bad.startswith(b"HTTP/1.0 400")
    assert b'"accepted": 0' in stats and b'"blackhole"' in stats
