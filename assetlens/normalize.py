"""Name normalisation shared by tags, folders and display names (see SECURITY.md)."""

from __future__ import annotations

import re
import unicodedata

from assetlens.errors import InvalidInput

# Zero-width and BOM characters: invisible, so two names differing only by them are one name.
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
# Bidi overrides/isolates let a name display differently from what it is.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# What a display name never keeps: controls (Cc); format characters (Cf: bidi marks,
# overrides and isolates, zero-width characters, BOM, soft hyphen, and the tag characters
# that can carry hidden text); lone surrogates (Cs); line and paragraph separators.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
MAX_NAME_BYTES = 255
MAX_TAG_CHARS = 64


def tag_key(value: str) -> str:
    """The canonical form of a tag or folder name: NFKC, casefolded, zero-width stripped,
    inner whitespace collapsed."""
    text = unicodedata.normalize("NFKC", value).translate(_ZERO_WIDTH)
    text = _CONTROL.sub("", _BIDI.sub("", text)).casefold()
    return " ".join(text.split())


def normalize_tags(values: list[str] | str | None) -> list[str]:
    """Canonical, de-duplicated tags in first-seen order; empty ones dropped."""
    if values is None:
        return []
    raw = values.split(",") if isinstance(values, str) else values
    seen: dict[str, None] = {}
    for value in raw:
        key = tag_key(value)
        if not key:
            continue
        if len(key) > MAX_TAG_CHARS:
            raise InvalidInput(f"tag longer than {MAX_TAG_CHARS} characters: {key[:20]}…")
        seen.setdefault(key, None)
    if len(seen) > 100:
        raise InvalidInput("at most 100 tags per asset")
    return list(seen)


def display_name(value: str) -> str:
    """A safe display name: NFC, no invisible characters (controls, bidi, zero-width, tag
    characters, line separators), no path part, at most 255 UTF-8 bytes. Raises
    InvalidInput when nothing printable is left."""
    # Removed before composing: a removed character between a letter and its combining
    # mark would otherwise leave the pair uncomposed (not NFC).
    visible = "".join(ch for ch in value if unicodedata.category(ch) not in _HIDDEN)
    text = unicodedata.normalize("NFC", visible)
    # Keep only the last path component whatever the separator, then drop dot-only names
    # (full-width dots were folded to ASCII by NFKC when checking).
    text = re.split(r"[/\\]", text)[-1].strip()
    if unicodedata.normalize("NFKC", text).strip(". ") == "":
        raise InvalidInput("name is empty after removing path and control characters")
    encoded = text.encode("utf-8")
    if len(encoded) > MAX_NAME_BYTES:
        text = encoded[:MAX_NAME_BYTES].decode("utf-8", errors="ignore")
    return text


def folder_name(value: str) -> str:
    """A folder's display name: sanitised like `display_name`, but a path separator is
    refused (422) rather than cut away, because a folder name is never a path."""
    if re.search(r"[/\\]", unicodedata.normalize("NFKC", value)):
        raise InvalidInput("folder names cannot contain '/' or '\\'")
    return display_name(value)
