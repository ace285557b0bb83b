"""Log formats: JSON lines with the request id and extra fields, or text."""

from __future__ import annotations

import json
import logging
import sys

from assetlens.logs import (
    JsonFormatter,
    RequestIdFilter,
    TextFormatter,
    formatter_for,
    request_id,
)


def record(message: str, *args: object, exc: bool = False, **extra: object) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            info = sys.exc_info()
    rec = logging.LogRecord("assetlens.test", logging.INFO, __file__, 1, message, args, info)
    for name, value in extra.items():
        setattr(rec, name, value)
    RequestIdFilter().filter(rec)
    return rec


def test_a_json_line_carries_the_request_id_and_extra_fields() -> None:
    token = request_id.set("req-42")
    try:
        line = JsonFormatter().format(record("indexed %s", "a1", status=201, route="/v1/x"))
    finally:
        request_id.reset(token)
    entry = json.loads(line)
    assert entry["message"] == "indexed a1"
    assert entry["level"] == "info"
    assert entry["logger"] == "assetlens.test"
    assert entry["request_id"] == "req-42"
    assert entry["status"] == 201
    assert entry["route"] == "/v1/x"
    assert entry["time"].endswith("+00:00")
    assert "args" not in entry and "msg" not in entry


def test_a_json_line_outside_a_request_has_no_request_id_and_keeps_the_traceback() -> None:
    entry = json.loads(JsonFormatter().format(record("failed", exc=True)))
    assert "request_id" not in entry
    assert "ValueError: boom" in entry["exception"]
    assert "\n" not in JsonFormatter().format(record("multi\nline", exc=True))


def test_a_text_line_ends_with_the_request_id() -> None:
    token = request_id.set("req-7")
    try:
        line = TextFormatter().format(record("hello"))
    finally:
        request_id.reset(token)
    assert line.endswith("INFO assetlens.test: hello [req-7]")


def test_auto_is_text_on_a_terminal_and_json_elsewhere() -> None:
    assert isinstance(formatter_for("auto", tty=False), JsonFormatter)
    assert isinstance(formatter_for("auto", tty=True), TextFormatter)
    assert isinstance(formatter_for("json", tty=True), JsonFormatter)
    assert isinstance(formatter_for("text", tty=False), TextFormatter)
