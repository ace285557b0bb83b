"""The lone-surrogate guard on raw JSON text: pairs, escaped backslashes and plain text pass."""

from __future__ import annotations

import json

import pytest

from assetlens.errors import InvalidInput
from assetlens.jsonguard import check_surrogates


@pytest.mark.parametrize("text", [
    r'["\ud800"]', r'["\uDFFF"]', r'["a\udc00b"]', r'["\ud83e"]', r'["\udd8a\ud83e"]',
    r'{"k": "\\\ud800"}',  # an escaped backslash, then a real lone escape
])
def test_lone_halves_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="surrogate"):
        check_surrogates(text)


@pytest.mark.parametrize("text", [
    r'["\ud83e\udd8a"]', r'["\\ud800"]', r'["\u00e9"]', '["plain", 1, null]', '"🦊"',
])
def test_pairs_escaped_backslashes_and_plain_text_pass(text: str) -> None:
    check_surrogates(text)
    check_surrogates(text.encode())
    json.loads(text)


def test_the_refusal_names_the_field() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_surrogates(r'{"filters": {"tags": ["ok", "\ud800"]}}')
    assert refused.value.extra["errors"][0]["loc"] == ["body", "filters", "tags", "1"]
    assert refused.value.detail.startswith("body.filters.tags.1:")
