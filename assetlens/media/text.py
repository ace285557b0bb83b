"""Text and prompt files (txt, md, json): validation and a text-card preview."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any, Final

from assetlens.domain import MediaInfo
from assetlens.errors import InvalidInput
from assetlens.media.previews import card, webp_previews
from assetlens.media.results import Analysis

#: Deepest JSON nesting accepted in an uploaded .json file.
MAX_JSON_DEPTH: Final = 64
_CARD_LINES: Final = 14
_CARD_WIDTH: Final = 60
_FORMAT_BY_EXTENSION: Final = {"txt": "txt", "md": "md", "markdown": "md", "json": "json"}


def decode_text(data: bytes) -> str:
    """UTF-8 text (a BOM allowed) without NUL bytes; InvalidInput otherwise."""
    if b"\x00" in data:
        raise InvalidInput("text files must not contain NUL bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"text is not valid UTF-8 (byte {exc.start})") from exc


def json_depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value (scalars are 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def validate_text(data: bytes, extension: str) -> None:
    """Check `data` is non-blank UTF-8 text; for .json, also well-formed and not too deep."""
    text = decode_text(data)
    if not text.strip():
        raise InvalidInput("text file is blank")
    if _FORMAT_BY_EXTENSION.get(extension) != "json":
        return
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise InvalidInput("JSON nested too deeply") from exc
    except ValueError as exc:
        raise InvalidInput(f"invalid JSON: {exc}") from exc
    if json_depth(value) > MAX_JSON_DEPTH:
        raise InvalidInput(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")


def _card_lines(text: str) -> list[str]:
    lines: list[str] = []
    for raw in text.splitlines():
        lines.extend(textwrap.wrap(raw, _CARD_WIDTH) or [""])
        if len(lines) >= _CARD_LINES:
            break
    return lines[:_CARD_LINES]


def analyse_text(path: Path, fmt: str) -> Analysis:
    """Format only as metadata, and a card showing the first lines as the preview."""
    media = MediaInfo(format=fmt)
    with path.open("rb") as fh:
        head = fh.read(16 * 1024)
    text = head.decode("utf-8-sig", errors="replace")
    picture = card(_card_lines(text), title=fmt.upper())
    return Analysis(media=media, previews=webp_previews(picture))
