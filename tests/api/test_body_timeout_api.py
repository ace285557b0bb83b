"""A body shorter than its Content-Length on a connection kept open (SECURITY.md: malformed
framing): answered 408 once nothing arrives for `body_idle_timeout_seconds`, with the upload
slot and the spool file given back; the server stays usable. Both backends."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from assetlens.bootstrap import Container
from tests.api.conftest import live_with, png
from tests.api.test_operations_api import until
from tests.conftest import Api
from tests.fakes import FakeEmbedder

Live = tuple[str, Container]
TIMEOUT = {"body_idle_timeout_seconds": 1.0}


@pytest.fixture(scope="module", params=["embedded", "servers"])
def live_short(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    with live_with(request, tmp_path_factory, FakeEmbedder(), **TIMEOUT) as live:
        yield live


def short_request(base_url: str, key: str, path: str, content_type: str, body: bytes) -> bytes:
    """Send `body` under a Content-Length four times its size, keep the connection open,
    and return what the server answers."""
    url = urlsplit(base_url)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body) * 4}\r\n\r\n"
    )
    with socket.create_connection(
        (url.hostname or "127.0.0.1", url.port or 80), timeout=30
    ) as sock:
        sock.sendall(head.encode() + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def test_a_short_upload_body_is_408_and_gives_its_slot_and_spool_back(live_short: Live) -> None:
    base_url, container = live_short
    workspace = f"idle-{uuid.uuid4().hex[:8]}"
    api = Api(base_url, container.keys.create(workspace))
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + png((1, 2, 3))[:200]
    )
    answer = short_request(
        base_url, api.key, "/v1/assets", "multipart/form-data; boundary=XyZ", body
    )
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"application/problem+json" in answer
    until(lambda: container.upload_slots.in_use(workspace) == 0, "the slot is released")
    spool = container.settings.data_dir / "tmp" / "uploads"
    assert not any(spool.glob("*")), "the spool file is removed"
    assert api.upload("next.png", png((4, 5, 6))).status_code == 201  # still usable


def test_a_short_json_body_is_408_and_changes_nothing(live_short: Live) -> None:
    base_url, container = live_short
    api = Api(base_url, container.keys.create(f"idle-{uuid.uuid4().hex[:8]}"))
    answer = short_request(base_url, api.key, "/v1/folders", "application/json", b'{"name": "half')
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert api.http.get("/v1/folders").json()["items"] == []
    assert api.http.post("/v1/folders", json={"name": "whole"}).status_code == 201
