"""Fonts (TrueType, OpenType/CFF, WOFF, WOFF2): validation, metadata and a specimen."""

from __future__ import annotations

import logging
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from fontTools import unicodedata as ucd
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

from assetlens.domain import MediaInfo
from assetlens.errors import InvalidInput
from assetlens.media.previews import font as ui_font
from assetlens.media.previews import webp_previews
from assetlens.media.results import Analysis

log = logging.getLogger(__name__)

REQUIRED_TABLES: Final = ("cmap", "head", "hhea", "hmtx", "maxp", "name", "post")
_OUTLINE_TABLES: Final = (("glyf", "loca"), ("CFF ",), ("CFF2",))
_NON_SCRIPTS: Final = frozenset({"Zyyy", "Zinh", "Zzzz"})
_MIN_CHARS_PER_SCRIPT: Final = 5
PANGRAM: Final = "The quick brown fox jumps over the lazy dog"
_SPECIMEN_LINES: Final = (
    PANGRAM,
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "abcdefghijklmnopqrstuvwxyz 0123456789",
)
_SPECIMEN_SIZE: Final = (1200, 630)


def open_font(path: Path) -> Any:
    """The font as a fontTools TTFont (tables decompiled on first access)."""
    return TTFont(str(path), recalcBBoxes=False, recalcTimestamp=False, lazy=True)


def _check_bounds(font: Any, size: int) -> None:
    """Every table of a plain sfnt lies inside the file (catches truncation early)."""
    reader = font.reader
    if getattr(reader, "flavor", None) is not None:
        return  # WOFF/WOFF2 tables are compressed; decompression itself checks them
    for tag, entry in reader.tables.items():
        if entry.offset + entry.length > size:
            raise InvalidInput(f"truncated font: table {tag!r} runs past the end of the file")


def _check_name_table(font: Any) -> None:
    """The name table holds the records its header counts (fontTools would otherwise log a
    warning for each of up to 65535 missing records, which takes seconds)."""
    data = font.reader["name"]
    count = int.from_bytes(data[2:4], "big") if len(data) >= 6 else -1
    if count < 0 or 6 + 12 * count > len(data):
        raise InvalidInput("corrupt font: malformed name table")


def validate_font(path: Path) -> None:
    """Parse the font and decompile its required tables; InvalidInput when it is broken."""
    try:
        font = open_font(path)
    except Exception as exc:
        raise InvalidInput("corrupt or truncated font") from exc
    with font:
        _check_bounds(font, path.stat().st_size)
        missing = [tag for tag in REQUIRED_TABLES if tag not in font]
        if not any(all(t in font for t in group) for group in _OUTLINE_TABLES):
            missing.append("glyf/CFF")
        if missing:
            raise InvalidInput(f"font lacks required tables: {', '.join(missing)}")
        try:
            _check_name_table(font)
            for tag in (*REQUIRED_TABLES, *(t for g in _OUTLINE_TABLES for t in g if t in font)):
                font[tag]  # indexing decompiles the table: broken data raises here
            if font["maxp"].numGlyphs < 1 or not font.getBestCmap():
                raise InvalidInput("font has no glyphs or no character map")
        except InvalidInput:
            raise
        except Exception as exc:
            raise InvalidInput("corrupt or truncated font") from exc


def _scripts(cmap: dict[int, str]) -> list[str]:
    counts = Counter(ucd.script(chr(cp)) for cp in cmap)
    found = [
        code
        for code, n in counts.most_common()
        if code not in _NON_SCRIPTS and n >= _MIN_CHARS_PER_SCRIPT
    ]
    return [ucd.script_name(code, default=code) for code in found]


def font_info(font: Any, fmt: str) -> MediaInfo:
    """Family, style, weight, glyph count and the scripts the character map covers."""
    name = font["name"]
    weight = font["OS/2"].usWeightClass if "OS/2" in font else None
    return MediaInfo(
        format=fmt,
        family=name.getBestFamilyName(),
        style=name.getBestSubFamilyName(),
        weight=int(weight) if weight else None,
        glyphs=int(font["maxp"].numGlyphs),
        scripts=_scripts(font.getBestCmap() or {}),
    )


@contextmanager
def _plain_sfnt(font: Any, path: Path) -> Iterator[Path]:
    """A path FreeType can read: the file itself, or a decompressed copy of WOFF/WOFF2."""
    if font.flavor is None:
        yield path
        return
    fd, name = tempfile.mkstemp(suffix=".otf")
    os.close(fd)
    try:
        font.flavor = None
        font.save(name)
        yield Path(name)
    finally:
        os.unlink(name)


def _sample_lines(cmap: dict[int, str]) -> list[str]:
    covered = set(cmap)
    if all(ord(c) in covered for line in _SPECIMEN_LINES for c in line if c != " "):
        return list(_SPECIMEN_LINES)
    chars = [chr(cp) for cp in sorted(covered) if cp > 0x20 and chr(cp).isprintable()][:60]
    return ["".join(chars[i : i + 20]) for i in range(0, len(chars), 20)] or ["?"]


def _fitted(path: Path, text: str, target: float, start: int) -> ImageFont.FreeTypeFont:
    face = ImageFont.truetype(str(path), start)
    length = face.getlength(text)
    if length > target:
        face = ImageFont.truetype(str(path), max(8, int(start * target / length)))
    return face


def specimen(path: Path, title: str, cmap: dict[int, str]) -> Image.Image:
    """A specimen card: the family name, then sample lines set in the font itself."""
    im = Image.new("RGB", _SPECIMEN_SIZE, (255, 255, 255))
    draw = ImageDraw.Draw(im)
    draw.text((40, 24), title, fill=(120, 120, 120), font=ui_font(28))
    lines = _sample_lines(cmap)
    y = 90
    for i, line in enumerate(lines):
        face = _fitted(path, line, _SPECIMEN_SIZE[0] - 80, 96 if i == 0 else 64)
        draw.text((40, y), line, fill=(20, 20, 20), font=face)
        _, top, _, bottom = face.getbbox(line)
        y += round(max(bottom - top, face.size)) + 36
        if y > _SPECIMEN_SIZE[1] - 40:
            break
    return im


def analyse_font(path: Path, fmt: str) -> Analysis:
    """Font metadata plus a specimen preview (no pHash, nothing to embed)."""
    with open_font(path) as font:
        media = font_info(font, fmt)
        try:
            title = " ".join(p for p in (media.family, media.style) if p) or fmt.upper()
            with _plain_sfnt(font, path) as sfnt:
                picture = specimen(sfnt, title, font.getBestCmap() or {})
            return Analysis(media=media, previews=webp_previews(picture))
        except Exception:
            log.warning("no specimen for a %s font", fmt, exc_info=True)
            return Analysis(media=media)
