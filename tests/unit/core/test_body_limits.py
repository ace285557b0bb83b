"""The body limit middleware on its own (no server): what it does with headers that no
HTTP parser in front of it checked."""

from __future__ import annotations

import asyncio
import json

import pytest
from starlette.types import Message, Receive, Scope, Send

from api.limits import BodyLimitMiddleware, takes_upload


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    message = await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": message.get("body", b"")})


def _call(content_length: str, body: bytes = b"{}") -> tuple[int, bytes]:
    middleware = BodyLimitMiddleware(_echo, upload_limit=1000, json_limit=100, json_depth=8)
    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/search",
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", content_length.encode("latin-1")),
        ],
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


@pytest.mark.parametrize("declared", ["9" * 5000, "0" * 5000 + "101"])
def test_a_content_length_of_thousands_of_digits_is_413(declared: str) -> None:
    status, body = _call(declared)
    assert status == 413
    assert json.loads(body)["status"] == 413


@pytest.mark.parametrize("declared", ["\u00b2", "\u00b9\u00b3"])  # ², ¹³: digits, not ASCII
def test_a_content_length_in_other_digits_is_left_to_the_body_count(declared: str) -> None:
    # Only ASCII digits are a length: these are ignored, and the body is counted instead.
    assert _call(declared) == (200, b"{}")


def test_upload_routes() -> None:
    assert takes_upload("POST", "/v1/assets")
    assert takes_upload("POST", "/v1/assets/")
    assert takes_upload("POST", "/v1/search/by-image")
    assert takes_upload("POST", "/v1/assets/abc/versions")
    assert not takes_upload("POST", "/v1/assets/abc/versions/2/rollback")
    assert not takes_upload("PATCH", "/v1/assets/abc")
    assert not takes_upload("POST", "/v1/search")


def test_ordinary_lengths() -> None:
    assert _call("000") == (200, b"{}")
    assert _call("2") == (200, b"{}")
    assert _call("101")[0] == 413
