"""A tiny TCP proxy in front of a test server that can be down and can lose answers: for
client retries (a server that is not there yet; a response lost after the server did the
work)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from tests.support.server import free_port


class FlakyProxy:
    """Forwards 127.0.0.1:`port` to `target` once `up()` is called (refusing connections
    before). `lose_answers(n)`: the next n connections reach the server, but the proxy
    hangs up on the client as soon as the server starts answering."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self.lost = 0
        self._to_lose = 0
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None

    def lose_answers(self, count: int) -> None:
        with self._lock:
            self._to_lose = count

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
            self._listener = None

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                lose = self._to_lose > 0
                self._to_lose -= int(lose)
            upstream = socket.create_connection(self._target)
            threading.Thread(
                target=_pump, args=(client, upstream, False, None), daemon=True
            ).start()
            threading.Thread(
                target=_pump, args=(upstream, client, lose, self._count_lost), daemon=True
            ).start()

    def _count_lost(self) -> None:
        with self._lock:
            self.lost += 1


def _pump(
    src: socket.socket, dst: socket.socket, lose: bool, on_lost: Callable[[], None] | None
) -> None:
    """Copy src → dst until either side closes; with `lose`, drop the first answer and
    close both sides instead."""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if lose:
                if on_lost is not None:
                    on_lost()
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
