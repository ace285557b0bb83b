"""Cheap guards for untrusted JSON, applied before a recursive parser sees it."""

from __future__ import annotations

import json
import re
from typing import Any

from assetlens.errors import InvalidInput
from assetlens.fields import UINT64_MAX, out_of_range


def check_json_depth(text: str | bytes, max_depth: int, what: str = "JSON body") -> None:
    """Raise InvalidInput when brackets nest deeper than `max_depth` (strings skipped).

    json.loads recurses per level, so a deep document would hit RecursionError (a 500)
    before any validation; this linear scan refuses it first.
    """
    data = text.encode() if isinstance(text, str) else text
    depth = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
            continue
        if byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > max_depth:
                raise InvalidInput(f"{what} is nested deeper than {max_depth} levels")
        elif byte in (0x5D, 0x7D):
            depth -= 1


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD]([89abAB]|[c-fC-F])[0-9a-fA-F]{2}")
_LOW_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def check_surrogates(
    text: str | bytes, what: str = "JSON body", loc: tuple[str, ...] = ("body",)
) -> None:
    """Raise InvalidInput, naming the field, when a string escapes half of a UTF-16
    surrogate pair (`"\\ud800"`).

    json.loads accepts it, but the value can never be encoded as UTF-8 again: every store,
    index and response would fail on it later, after a write may have been committed. The
    scan of the raw text is cheap; only a body that has such an escape is parsed to name it.
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if b"\\u" not in data or not _has_lone_escape(data):
        return
    try:
        path = _surrogate_path(json.loads(data))
    except (ValueError, RecursionError):
        # Not JSON at all, or deeper than the depth scan saw (a body that is not declared
        # JSON is scanned as it comes): the parser that follows says so.
        return
    if path is None:
        return
    where = ".".join(str(p) for p in (*loc, *path))
    error = InvalidInput(f"{where}: {what} holds a lone UTF-16 surrogate")
    error.extra["errors"] = [
        {"loc": [*loc, *map(str, path)], "msg": "a lone UTF-16 surrogate is not text"}
    ]
    raise error


def check_encoding(data: bytes, what: str = "JSON body", loc: tuple[str, ...] = ("body",)) -> None:
    """Raise InvalidInput when JSON bytes are not text in the encoding they announce (UTF-8,
    or UTF-16/32 by their first bytes, as json.loads detects it): a parser would fail on
    them with an error no handler expects."""
    try:
        data.decode(json.detect_encoding(data))
    except UnicodeDecodeError as exc:
        error = InvalidInput(f"{'.'.join(loc)}: {what} is not UTF-8 text")
        error.extra["errors"] = [{"loc": list(loc), "msg": f"not text (byte {exc.start})"}]
        raise error from exc


def as_utf8(data: bytes) -> bytes:
    """JSON bytes in UTF-8: a UTF-16 or UTF-32 body (json.loads detects those by their
    first bytes, and so does every parser after these guards) transcoded, so that the byte
    scans here see its characters — in UTF-16 a `[` may hide in a quote's byte pair
    (`Ģ` is 22 01) and `NaN` is no longer the bytes `NaN`. Call `check_encoding` first."""
    encoding = json.detect_encoding(data)
    if encoding == "utf-8":
        return data
    return data.decode(encoding).encode("utf-8")


# Text that could spell a number no backend holds: NaN, ±Infinity, 19+ digits, a big exponent.
_EDGE_NUMBER = re.compile(rb"NaN|Infinity|\d{19,}|[eE][+-]?\d{3,}")


def check_numbers(
    text: str | bytes, what: str = "JSON body", loc: tuple[str, ...] = ("body",)
) -> None:
    """Raise InvalidInput, naming the field, when a JSON number is NaN, ±Infinity, or an
    integer outside the 64-bit range.

    json.loads takes all of them (and refuses integers of thousands of digits with a
    ValueError of its own), but no store, index or response can hold them: refused here,
    before anything reads the body. Only text that could spell one is parsed.
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if not _EDGE_NUMBER.search(data):
        return
    try:
        value = json.loads(data, parse_int=_bounded_int)
    except (ValueError, RecursionError):
        # Not JSON at all, or deeper than the depth scan saw (a body that is not declared
        # JSON is scanned as it comes): the parser that follows says so.
        return
    found = out_of_range(value)
    if found is None:
        return
    path, msg = found
    error = InvalidInput(f"{'.'.join((*loc, *path))}: {msg} in {what}")
    error.extra["errors"] = [{"loc": [*loc, *path], "msg": msg}]
    raise error


def _bounded_int(digits: str) -> int:
    # A number of thousands of digits is never converted (that costs quadratic time).
    return int(digits) if len(digits) <= 21 else UINT64_MAX + 1


def _has_lone_escape(data: bytes) -> bool:
    position = 0
    while match := _SURROGATE_ESCAPE.search(data, position):
        start = match.start()
        position = match.end()
        backslashes = len(data[:start]) - len(data[:start].rstrip(b"\\"))
        if backslashes % 2:
            continue  # `\\ud800`: an escaped backslash followed by plain text
        if match.group(1) in b"89abAB" and _LOW_SURROGATE_ESCAPE.match(data, position):
            position += 6  # a whole pair
            continue
        return True
    return False


def _surrogate_path(value: Any) -> list[str | int] | None:
    """Where in a parsed JSON value a string (or key) holds a lone surrogate."""
    if isinstance(value, str):
        return None if _encodable(value) else []
    items: Any = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        if isinstance(key, str) and not _encodable(key):
            return [key.encode("utf-8", "replace").decode()]
        inner = _surrogate_path(item)
        if inner is not None:
            return [key, *inner]
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
