"""Text tokenising shared by the search index adapters.

Both backends must find a prompt by any word of it, whatever its script. SQLite's unicode61
tokenizer keeps a run of Han characters as one token, whereas Elasticsearch's standard
tokenizer (UAX #29) emits one token per ideograph and per hiragana character, and keeps
katakana and hangul runs together as words. `split_cjk` makes text look like the latter to
any whitespace/punctuation tokenizer, so the two backends agree on what is a word.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Characters UAX #29 makes single-character tokens: Han ideographs (unified, extensions,
# compatibility, radicals), ideographic iteration/zero marks, bopomofo and hiragana.
_SINGLE = (
    "\u2e80-\u2fdf"  # CJK radicals, Kangxi radicals
    "\u3005\u3007\u3021-\u3029\u3038-\u303b"  # iteration marks, hangzhou numerals
    "\u3040-\u309f"  # hiragana
    "\u3100-\u312f\u31a0-\u31bf"  # bopomofo
    "\u3400-\u4dbf"  # extension A
    "\u4e00-\u9fff"  # unified ideographs
    "\uf900-\ufaff"  # compatibility ideographs
    "\U00020000-\U0003134f"  # extensions B..G, compatibility supplement
)
_SINGLE_RE = re.compile(f"([{_SINGLE}])")
# A query term: a run of single-token characters (searched as a phrase of them), or a run of
# other letters/digits (combining marks kept so decomposed accents stay in their word).
_TERM_RE = re.compile(
    f"(?P<cjk>[{_SINGLE}]+)"
    f"|(?P<word>(?:[^\\W_{_SINGLE}]|[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff])+)"
)
MAX_QUERY_TERMS = 32


def split_cjk(text: str) -> str:
    """`text` with a space on each side of every ideograph and hiragana character, so that a
    word tokenizer emits each of them as its own token."""
    if not text:
        return text
    return _SINGLE_RE.sub(r" \1 ", text)


def query_terms(text: str | None, max_terms: int = MAX_QUERY_TERMS) -> list[str]:
    """The terms of a user's search text, all of which a match must contain.

    Each term is a plain word, or — for a run of ideographs/hiragana — the run's characters
    separated by spaces, to be matched as a phrase. Everything that is not a letter or digit
    (operators, quotes, wildcards, brackets) is dropped: user text is never query syntax.
    Duplicates are dropped and at most `max_terms` terms are kept.
    """
    if not text:
        return []
    normalized = unicodedata.normalize("NFC", text)
    terms: dict[str, None] = {}
    for match in _TERM_RE.finditer(normalized):
        cjk = match.group("cjk")
        term = " ".join(cjk) if cjk else match.group("word")
        terms.setdefault(term, None)
        if len(terms) >= max_terms:
            break
    return list(terms)


def open_last_term(text: str) -> str | None:
    """The text's last query term when the text ends inside it (nothing after it: the user may
    still be typing it), else None."""
    normalized = unicodedata.normalize("NFC", text)
    matches = list(_TERM_RE.finditer(normalized))
    if not matches or matches[-1].end() != len(normalized):
        return None
    last = matches[-1]
    cjk = last.group("cjk")
    return " ".join(cjk) if cjk else last.group("word")


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    decomposed = unicodedata.normalize("NFD", char)
    if len(decomposed) > 1 and unicodedata.name(decomposed[0], "").startswith("LATIN "):
        rest = decomposed[1:]
        if all(unicodedata.combining(c) for c in rest):
            return decomposed[0]
    return char


def fold_diacritics(text: str) -> str:
    """`text` with diacritics removed from Latin letters only (é→e, ñ→n; not й, ά, が), as
    SQLite's unicode61 tokenizer does with remove_diacritics 2."""
    if text.isascii():
        return text
    return "".join(_fold_char(c) for c in unicodedata.normalize("NFC", text))
