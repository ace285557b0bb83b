"""Stealth PNG info: metadata hidden in the least significant bits of pixels.

NovelAI and AUTOMATIC1111's stealth-pnginfo extension write, column by column and top to
bottom, a 15-byte magic, a 32-bit big-endian payload length in bits, then the payload
(gzip when the magic ends in `comp`). Alpha variants use one bit per pixel; RGB variants
use the R, G and B bits of each pixel in turn.
"""

from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

MAX_PAYLOAD_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000
_ALPHA = {b"stealth_pnginfo": False, b"stealth_pngcomp": True}
_RGB = {b"stealth_rgbinfo": False, b"stealth_rgbcomp": True}
_MAGIC_BITS = 15 * 8


@dataclass(frozen=True, slots=True)
class StealthRead:
    """The result of `read_stealth` on pixels already decoded elsewhere (the analysis's
    decode), so provenance extraction does not decode the file a second time."""

    text: str | None


def read_stealth(image: Image.Image) -> str | None:
    """The hidden text of an RGBA or RGB image, or None when there is none."""
    if image.width * image.height > MAX_PIXELS:
        return None
    if image.mode in ("RGBA", "LA", "PA"):
        found = _payload(_Columns(image, "A"), _ALPHA)
        if found is not None:
            return found
    if image.mode in ("RGB", "RGBA"):
        return _payload(_Columns(image, "RGB"), _RGB)
    return None


class _Columns:
    """The leftmost columns of one view of an image (its alpha, or its RGB), converted
    only as far as needed: the magic sits in the first column or two, so an image without
    a payload costs a crop of a few columns rather than a copy of every pixel."""

    def __init__(self, image: Image.Image, view: str) -> None:
        self._image = image
        self._view = view
        self.bits_per_column = image.height * (3 if view == "RGB" else 1)

    def first(self, columns: int) -> NDArray[np.uint8]:
        part = self._image.crop((0, 0, min(columns, self._image.width), self._image.height))
        if self._view == "A":
            return np.asarray(part.getchannel("A"))
        return np.asarray(part if part.mode == "RGB" else part.convert("RGB"))


def _bits(pixels: _Columns, count: int) -> NDArray[np.uint8]:
    """The first `count` LSBs in column-major order (for RGB, each pixel's R, G, B bits in
    turn), reading only the columns needed."""
    columns = -(-count // max(pixels.bits_per_column, 1))
    swapped = np.ascontiguousarray(np.swapaxes(pixels.first(columns), 0, 1))
    return (swapped & 1).reshape(-1)[:count].astype(np.uint8)


def _payload(pixels: _Columns, magics: dict[bytes, bool]) -> str | None:
    head = _bits(pixels, _MAGIC_BITS + 32)
    if head.size < _MAGIC_BITS + 32:
        return None
    magic = np.packbits(head[:_MAGIC_BITS]).tobytes()
    if magic not in magics:
        return None
    length = int.from_bytes(np.packbits(head[_MAGIC_BITS:]).tobytes(), "big")
    start = _MAGIC_BITS + 32
    if length <= 0 or length > MAX_PAYLOAD_BYTES * 8:
        return None
    bits = _bits(pixels, start + length)
    if bits.size < start + length:
        return None
    data = np.packbits(bits[start:]).tobytes()
    if magics[magic]:
        unpacked = _gunzip(data)
        if unpacked is None:
            return None
        data = unpacked
    return data.decode("utf-8", "replace")


def _gunzip(data: bytes) -> bytes | None:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
            plain = handle.read(MAX_PAYLOAD_BYTES + 1)
    except (OSError, EOFError, zlib.error):
        return None
    return plain if len(plain) <= MAX_PAYLOAD_BYTES else None
