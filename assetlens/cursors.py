"""Page cursors: the opaque search_after values a page hands back for the next one, and
their checks (every backend pages by a (sort value, asset id) pair)."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

from assetlens.errors import InvalidInput
from assetlens.fields import INT64_MAX, INT64_MIN
from assetlens.query import SortField


def encode_cursor(values: list[Any]) -> str:
    """An opaque cursor from the sort values of the last hit (search_after style)."""
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    """The sort values inside a cursor; InvalidInput when it was not made by encode_cursor."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()), parse_int=_cursor_int)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("malformed cursor") from exc
    if (
        not isinstance(values, list)
        or len(values) > 4
        or not all(_cursor_value(value) for value in values)
    ):
        raise InvalidInput("malformed cursor")
    return values


def decode_sort_cursor(cursor: str, field: SortField) -> tuple[Any, str]:
    """The (sort value, asset id) inside a cursor made for a page sorted by `field`;
    InvalidInput when it is malformed or was made for another sort. Every backend pages by
    this pair."""
    values = decode_cursor(cursor)
    if len(values) != 2 or not isinstance(values[1], str):
        raise InvalidInput("malformed cursor")
    value = values[0]
    if field is SortField.NAME:
        ok = isinstance(value, str)
    elif field in (SortField.RELEVANCE, SortField.COST):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = isinstance(value, int) and not isinstance(value, bool)
    if not ok:
        raise InvalidInput("cursor does not belong to this sort order")
    return value, values[1]


def _cursor_int(digits: str) -> int:
    # Thousands of digits are never converted (quadratic, and no sort value is that long).
    if len(digits) > 20:
        raise ValueError("a number longer than any sort value")
    return int(digits)


def _cursor_value(value: Any) -> bool:
    """Whether `value` is a sort value encode_cursor could have written: text, or a number
    the backends compare (a 64-bit integer, a finite float)."""
    if value is None or isinstance(value, bool | str):
        return not isinstance(value, str) or len(value) <= 4096
    if isinstance(value, int):
        return INT64_MIN <= value <= INT64_MAX
    return isinstance(value, float) and math.isfinite(value)
