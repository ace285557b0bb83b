"""Local servers of a test's own for URL imports: an `Origin` that answers by path (files,
redirects, slow drips, lying lengths, TLS) and a `Trap` that only counts connections, to
prove a refused target is never connected to."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Handler = Callable[[BaseHTTPRequestHandler], None]


def free_port(*hosts: str) -> int:
    """A port free on every one of `hosts` (so two servers can share it on two addresses)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((hosts[0], 0))
            port = int(probe.getsockname()[1])
        try:
            for host in hosts[1:]:
                with socket.socket() as other:
                    other.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no common free port")


class Trap:
    """Accepts and counts TCP connections on (host, port); serves nothing."""

    def __init__(self, host: str = "127.0.0.2", port: int = 0) -> None:
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self.host, self.port = host, int(self._sock.getsockname()[1])
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


@dataclass
class Seen:
    paths: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    sni: list[str | None] = field(default_factory=list)


class Origin:
    """An HTTP(S) server on (host, port) answering each path with its handler."""

    def __init__(
        self,
        routes: dict[str, Handler],
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.routes = routes
        self.seen = Seen()
        seen, table = self.seen, self.routes

        class Handle(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                seen.paths.append(self.path)
                seen.hosts.append(self.headers.get("Host", ""))
                handler = table.get(self.path.split("?", 1)[0])
                if handler is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                handler(self)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer((host, port), Handle)
        self.server.daemon_threads = True
        if tls is not None:
            tls.sni_callback = self._record_sni
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.host, self.port = host, int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _record_sni(self, _: ssl.SSLObject, name: str | None, __: ssl.SSLContext) -> None:
        self.seen.sni.append(name)

    def url(self, path: str, host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def serving(routes: dict[str, Handler], **kwargs: object) -> Iterator[Origin]:
    origin = Origin(routes, **kwargs)  # type: ignore[arg-type]
    try:
        yield origin
    finally:
        origin.close()


# -- handlers ---------------------------------------------------------------------------------


def file(
    data: bytes,
    content_type: str = "application/octet-stream",
    headers: dict[str, str] | None = None,
) -> Handler:
    def handle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)

    return handle


def redirect(location: str, status: int = 302) -> Handler:
    def handle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return handle


def status(code: int) -> Handler:
    def handle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(code)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return handle


def drip(total: int, interval: float, declared: bool = True) -> Handler:
    """One byte every `interval` seconds (a slow-drip server)."""

    def handle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "image/png")
        if declared:
            h.send_header("Content-Length", str(total))
        h.end_headers()
        with contextlib.suppress(OSError):
            for _ in range(total):
                h.wfile.write(b"x")
                h.wfile.flush()
                time.sleep(interval)

    return handle


def unbounded(chunk: bytes, count: int, declared: int | None = None) -> Handler:
    """`count` chunks with no Content-Length (or a lying one), then close."""

    def handle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/octet-stream")
        if declared is not None:
            h.send_header("Content-Length", str(declared))
        h.send_header("Connection", "close")
        h.end_headers()
        with contextlib.suppress(OSError):
            for _ in range(count):
                h.wfile.write(chunk)
        h.close_connection = True

    return handle
