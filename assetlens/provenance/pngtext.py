"""Bounded reader of PNG text chunks (tEXt, zTXt, iTXt) and eXIf, wherever they sit.

Pillow refuses a whole file when one compressed chunk decompresses past its 1 MB cap and
only sees chunks after IDAT once pixels are decoded; this walker seeks past image data,
skips oversized chunks with a note, and stops at a total budget.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHUNK_TEXT_CAP = 1024 * 1024  # Pillow's PngImagePlugin.MAX_TEXT_CHUNK
TOTAL_TEXT_CAP = 8 * 1024 * 1024
MAX_CHUNKS = 100_000
_TEXT_TYPES = {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"caBX"}


@dataclass
class PngText:
    """Text keys (first occurrence wins), raw EXIF bytes, and notes on what was skipped."""

    texts: dict[str, str] = field(default_factory=dict)
    exif: bytes | None = None
    has_c2pa: bool = False
    notes: list[str] = field(default_factory=list)


def read_png_text(stream: BinaryIO) -> PngText:
    """Walk the chunks of a PNG stream; never raises on malformed content."""
    out = PngText()
    if stream.read(8) != PNG_SIGNATURE:
        out.notes.append("not a PNG")
        return out
    budget = TOTAL_TEXT_CAP
    for _ in range(MAX_CHUNKS):
        header = stream.read(8)
        if len(header) < 8:
            break
        length, kind = struct.unpack(">I4s", header)
        if kind == b"IEND":
            break
        if kind not in _TEXT_TYPES:
            stream.seek(length + 4, 1)
            continue
        if kind == b"caBX":
            out.has_c2pa = True
            stream.seek(length + 4, 1)
            continue
        if length > min(budget, CHUNK_TEXT_CAP):
            out.notes.append(f"{kind.decode()} chunk of {length} bytes too large, skipped")
            stream.seek(length + 4, 1)
            continue
        data = stream.read(length)
        stream.seek(4, 1)
        budget -= len(data)
        if len(data) < length:
            out.notes.append("truncated chunk")
            break
        _decode_chunk(kind, data, out)
    return out


def _decode_chunk(kind: bytes, data: bytes, out: PngText) -> None:
    if kind == b"eXIf":
        out.exif = out.exif or data
        return
    key_bytes, sep, rest = data.partition(b"\x00")
    if not sep or not 1 <= len(key_bytes) <= 79:
        out.notes.append(f"{kind.decode()} chunk without a valid keyword")
        return
    key = key_bytes.decode("latin-1")
    try:
        value = _decode_value(kind, rest)
    except _TooLarge:
        out.notes.append(f"{kind.decode()} {key!r} decompresses past 1 MiB, skipped as too large")
        return
    except (zlib.error, ValueError) as exc:
        out.notes.append(f"{kind.decode()} {key!r} unreadable: {exc}")
        return
    out.texts.setdefault(key, value)


class _TooLarge(Exception):
    pass


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    plain = inflater.decompress(data, CHUNK_TEXT_CAP)
    if inflater.unconsumed_tail:
        raise _TooLarge
    return plain


def _decode_value(kind: bytes, rest: bytes) -> str:
    if kind == b"tEXt":
        return rest.decode("latin-1")
    if kind == b"zTXt":
        if rest[:1] != b"\x00":
            raise ValueError("unknown compression method")
        return _inflate(rest[1:]).decode("latin-1")
    # iTXt: compression flag, method, language tag \0, translated keyword \0, text
    if len(rest) < 2:
        raise ValueError("short iTXt")
    flag, method = rest[0], rest[1]
    parts = rest[2:].split(b"\x00", 2)
    if len(parts) < 3:
        raise ValueError("malformed iTXt")
    text = parts[2]
    if flag == 1:
        if method != 0:
            raise ValueError("unknown compression method")
        text = _inflate(text)
    return text.decode("utf-8", "replace")
