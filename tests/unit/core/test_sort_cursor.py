"""The one check every backend applies to a page cursor before using it."""

from __future__ import annotations

import pytest

from assetlens.cursors import decode_sort_cursor, encode_cursor
from assetlens.errors import InvalidInput
from assetlens.query import SortField


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (SortField.NAME, "fox"),
        (SortField.RELEVANCE, 1.5),
        (SortField.COST, 3),
        (SortField.CREATED_AT, 1_700_000_000_000_000),
        (SortField.SIZE, 0),
    ],
)
def test_a_cursor_made_for_its_sort_opens(field: SortField, value: object) -> None:
    assert decode_sort_cursor(encode_cursor([value, "a1"]), field) == (value, "a1")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (SortField.CREATED_AT, "fox"),
        (SortField.NAME, 12),
        (SortField.SIZE, 1.5),
        (SortField.RELEVANCE, True),
        (SortField.COST, "3"),
    ],
)
def test_a_cursor_of_another_sort_is_refused(field: SortField, value: object) -> None:
    with pytest.raises(InvalidInput, match="does not belong to this sort"):
        decode_sort_cursor(encode_cursor([value, "a1"]), field)


@pytest.mark.parametrize("values", [["fox"], ["fox", 7], ["fox", "a1", "extra"]])
def test_a_cursor_without_value_and_id_is_malformed(values: list[object]) -> None:
    with pytest.raises(InvalidInput, match="malformed"):
        decode_sort_cursor(encode_cursor(values), SortField.NAME)
