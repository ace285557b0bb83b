"""The lone-surrogate guard on raw JSON text: pairs, escaped backslashes and plain text pass."""

from __future__ import annotations

import json

import pytest

from assetlens.errors import InvalidInput
from assetlens.jsonguard import check_encoding, check_numbers, check_surrogates


@pytest.mark.parametrize(
    "text",
    [
        r'["\ud800"]',
        r'["\uDFFF"]',
        r'["a\udc00b"]',
        r'["\ud83e"]',
        r'["\udd8a\ud83e"]',
        r'{"k": "\\\ud800"}',  # an escaped backslash, then a real lone escape
    ],
)
def test_lone_halves_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="surrogate"):
        check_surrogates(text)


@pytest.mark.parametrize(
    "text",
    [
        r'["\ud83e\udd8a"]',
        r'["\\ud800"]',
        r'["\u00e9"]',
        '["plain", 1, null]',
        '"🦊"',
    ],
)
def test_pairs_escaped_backslashes_and_plain_text_pass(text: str) -> None:
    check_surrogates(text)
    check_surrogates(text.encode())
    json.loads(text)


def test_the_refusal_names_the_field() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_surrogates(r'{"filters": {"tags": ["ok", "\ud800"]}}')
    assert refused.value.extra["errors"][0]["loc"] == ["body", "filters", "tags", "1"]
    assert refused.value.detail.startswith("body.filters.tags.1:")


@pytest.mark.parametrize(
    ("text", "loc"),
    [
        ('{"seed": NaN}', ["body", "seed"]),
        ('{"a": [1, Infinity]}', ["body", "a", "1"]),
        ('{"a": {"b": -Infinity}}', ["body", "a", "b"]),
        ('{"x": 1e400}', ["body", "x"]),
        ('{"x": 18446744073709551616}', ["body", "x"]),
        ('{"x": -9223372036854775809}', ["body", "x"]),
        ("[" + "9" * 5000 + "]", ["body", "0"]),
    ],
)
def test_numbers_no_backend_holds_are_refused_with_their_place(text: str, loc: list[str]) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_numbers(text)
    assert caught.value.extra["errors"][0]["loc"] == loc


@pytest.mark.parametrize(
    "text",
    [
        '{"seed": 18446744073709551615}',
        '{"x": -9223372036854775808}',
        '{"x": 1e300}',
        '{"name": "NaN Infinity 1e400 99999999999999999999999"}',
        "[true, null, 0.5]",
        '{"x": 1e400',
        "not json 1e999",  # not JSON: left to the parser that follows
    ],
)
def test_numbers_that_fit_and_numbers_inside_strings_pass(text: str) -> None:
    check_numbers(text)


def test_json_that_is_not_text_is_refused_but_utf16_json_passes() -> None:
    with pytest.raises(InvalidInput, match="not UTF-8"):
        check_encoding(b'{"a": "\xff"}')
    check_encoding('{"a": "é"}'.encode("utf-16"))
    check_encoding('{"a": "é"}'.encode())
