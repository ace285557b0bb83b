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

import numpy as np
from numpy.typing import NDArray
from PIL import Image

MAX_PAYLOAD_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000
_ALPHA = {b"stealth_pnginfo": False, b"stealth_pngcomp": True}
_RGB = {b"stealth_rgbinfo": False, b"stealth_rgbcomp": True}
_MAGIC_BITS = 15 * 8


def read_stealth(image: Image.Image) -> str | None:
    """The hidden text of an RGBA or RGB image, or None when there is none."""
    if image.width * image.height > MAX_PIXELS:
        return None
    if image.mode in ("RGBA", "LA", "PA"):
        found = _payload(np.asarray(image.getchannel("A")), _ALPHA)
        if found is not None:
            return found
    if image.mode in ("RGB", "RGBA"):
        rgb = image.convert("RGB") if image.mode != "RGB" else image
        return _payload(np.asarray(rgb), _RGB)
    return None


def _bits(pixels: NDArray[np.uint8], count: int) -> NDArray[np.uint8]:
    """The first `count` LSBs in column-major order (for RGB, each pixel's R, G, B bits in
    turn), decoding only the columns needed."""
    per_column = pixels.shape[0] * (pixels.shape[2] if pixels.ndim == 3 else 1)
    columns = min(pixels.shape[1], -(-count // max(per_column, 1)))
    swapped = np.ascontiguousarray(np.swapaxes(pixels[:, :columns], 0, 1))
    return (swapped & 1).reshape(-1)[:count].astype(np.uint8)


def _payload(pixels: NDArray[np.uint8], magics: dict[bytes, bool]) -> str | None:
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
