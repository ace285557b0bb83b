"""A check of a still PNG that proves every pixel byte without decoding the image: every
chunk whole and with its CRC, IHDR first, IDAT present, IEND at the end (bytes after it are
ignored, as decoders do), and the whole pixel stream inflating to exactly the scanlines
IHDR declares.

Upload validation uses it instead of Pillow's full decode (SECURITY.md: images are fully
decoded): inflating is the part of a decode that can fail on damaged data, and the length
check catches a stream that ends early or runs long; what it skips — un-filtering the
scanlines and building the image — cannot fail on any byte sequence. The declared size was
checked against the pixel limit before this runs, so the inflate is bounded by it.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Final, cast

from isal import isal_zlib

from assetlens.errors import InvalidInput

_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_CHUNK_HEAD: Final = struct.Struct(">I4s")
# A chunk over this is no PNG an image model writes (the format allows 2³¹−1).
_MAX_CHUNK: Final = 64 * 1024 * 1024
_READ: Final = 1 << 20
# Inflated output is counted and dropped in pieces of this size: memory stays flat.
_PIECE: Final = 1 << 20
# What a damaged stream raises (isal's stubs declare `error` an instance: it is the class).
_INFLATE_ERRORS: Final = (zlib.error, cast("type[Exception]", isal_zlib.error))
# Samples per pixel by IHDR colour type (grey, RGB, palette, grey+alpha, RGBA).
_CHANNELS: Final = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# Adam7 passes: (first column, first row, column step, row step).
_ADAM7: Final = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)


class _Reader:
    """Reads chunks from an open file, checking each CRC as it streams past."""

    def __init__(self, path: Path) -> None:
        self._fh = path.open("rb")

    def close(self) -> None:
        self._fh.close()

    def signature(self) -> bytes:
        return self._fh.read(len(_SIGNATURE))

    def chunk(
        self, keep: int, feed: Callable[[bytes, bytes], None] | None = None
    ) -> tuple[bytes, bytes]:
        """The next chunk's type and up to `keep` bytes of its body, each piece of the body
        also given to `feed(kind, piece)` as it streams past; raises on a short or damaged
        chunk (after `feed` saw it: the caller's verdict waits for the CRC)."""
        head = self._fh.read(_CHUNK_HEAD.size)
        if len(head) < _CHUNK_HEAD.size:
            raise InvalidInput("corrupt or truncated PNG image")
        length, kind = _CHUNK_HEAD.unpack(head)
        if length > _MAX_CHUNK or not kind.isalpha():
            raise InvalidInput("corrupt PNG image")
        crc = zlib.crc32(kind)
        kept = bytearray()
        left = length
        while left:
            part = self._fh.read(min(left, _READ))
            if not part:
                raise InvalidInput("corrupt or truncated PNG image")
            crc = zlib.crc32(part, crc)
            if feed is not None:
                feed(kind, part)
            if len(kept) < keep:
                kept += part[: keep - len(kept)]
            left -= len(part)
        stored = self._fh.read(4)
        if len(stored) < 4 or struct.unpack(">I", stored)[0] != crc:
            raise InvalidInput("corrupt or truncated PNG image")
        return kind, bytes(kept)


def scanline_bytes(ihdr: bytes) -> int:
    """How many bytes the pixel stream of an image with this IHDR body inflates to: each
    (pass's) row of packed samples plus its filter byte."""
    if len(ihdr) != 13:
        raise InvalidInput("corrupt PNG image: bad IHDR")
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", ihdr)
    channels = _CHANNELS.get(colour)
    if channels is None or depth not in (1, 2, 4, 8, 16) or interlace > 1:
        raise InvalidInput("corrupt PNG image: bad IHDR")
    passes = _ADAM7 if interlace else ((0, 0, 1, 1),)
    total = 0
    for x0, y0, dx, dy in passes:
        columns = -(-(width - x0) // dx) if width > x0 else 0
        rows = -(-(height - y0) // dy) if height > y0 else 0
        if columns and rows:
            total += rows * (1 + -(-(columns * channels * depth) // 8))
    return total


def check_png(path: Path) -> None:
    """Raise InvalidInput unless `path` is a whole, undamaged PNG (see the module doc)."""
    reader = _Reader(path)
    try:
        if reader.signature() != _SIGNATURE:
            raise InvalidInput("corrupt or unreadable PNG image")
        kind, ihdr = reader.chunk(keep=13)
        if kind != b"IHDR":
            raise InvalidInput("corrupt PNG image: IHDR is not the first chunk")
        expected = scanline_bytes(ihdr)
        stream = _PixelStream(expected)
        while True:
            kind, _ = reader.chunk(keep=0, feed=stream.feed)
            if kind == b"IEND":
                break
        if not stream.whole():
            raise InvalidInput("corrupt PNG image: the pixel data does not match its size")
    finally:
        reader.close()


class _PixelStream:
    """The IDAT chunks' zlib stream, inflated as it arrives, output counted and dropped."""

    def __init__(self, expected: int) -> None:
        # ISA-L's inflate: the same zlib stream checks (Adler-32 included) at about 40 % of
        # zlib's CPU, and this inflate is most of an upload's cost for a PNG.
        self._inflater = isal_zlib.decompressobj()
        self._expected = expected
        self._out = 0
        self._seen = False

    def feed(self, kind: bytes, data: bytes) -> None:
        if kind != b"IDAT":
            return
        self._seen = True
        try:
            while data and not self._inflater.eof:
                self._out += len(self._inflater.decompress(data, _PIECE))
                if self._out > self._expected:
                    raise InvalidInput("corrupt PNG image: more pixel data than its size")
                data = self._inflater.unconsumed_tail
        except _INFLATE_ERRORS as exc:
            raise InvalidInput("corrupt PNG image: bad pixel data") from exc

    def whole(self) -> bool:
        """Whether the stream ended, at exactly the declared size."""
        return self._seen and self._inflater.eof and self._out == self._expected
