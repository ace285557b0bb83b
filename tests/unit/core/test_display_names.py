"""`display_name`: what every asset and folder name goes through (SECURITY.md row 6)."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from assetlens.errors import InvalidInput
from assetlens.normalize import display_name

# Every invisible character a name may carry: controls, format characters (bidi, zero-width,
# BOM, soft hyphen, tag characters, invisible operators), line and paragraph separators.
HIDDEN = [
    chr(c)
    for c in range(sys.maxunicode + 1)
    if unicodedata.category(chr(c)) in ("Cc", "Cf", "Zl", "Zp")
]


def test_no_invisible_character_survives() -> None:
    name = display_name("a" + "".join(HIDDEN[:400]) + "b.png")
    assert name == "ab.png"
    for start in range(400, len(HIDDEN), 400):
        assert display_name("x" + "".join(HIDDEN[start : start + 400]) + ".png") == "x.png"


@pytest.mark.parametrize("hidden", ["\u200d", "\u2060", "\u00ad", "\U000e0041", "\x7f"])
def test_a_name_is_nfc_even_when_a_removed_character_split_a_letter_from_its_mark(
    hidden: str,
) -> None:
    name = display_name(f"e{hidden}\u0301.png")
    assert name == "\u00e9.png"
    assert unicodedata.is_normalized("NFC", name)


def test_the_cut_keeps_whole_characters() -> None:
    assert display_name("\U0001f600" * 70) == "\U0001f600" * 63  # 4 bytes each: 252
    with pytest.raises(InvalidInput):
        display_name("\u202e\U000e0041/")
