"""A structural check of a PNG file that needs no full decode: every chunk whole and with
its CRC, IHDR first, IDAT present, IEND at the end (bytes after it are ignored, as decoders
do), and the start of the pixel stream inflating.

Upload validation uses it instead of decoding every pixel: truncation and corruption of any
byte are caught by the chunk CRCs, the declared size was checked against the pixel limit
already, and the one full decode happens at analysis (in a worker process, under Pillow's
own limits). A file that passes but still fails to decode gets no previews there.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Final

from assetlens.errors import InvalidInput

_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_CHUNK_HEAD: Final = struct.Struct(">I4s")
# A chunk over this is no PNG an image model writes (the format allows 2³¹−1).
_MAX_CHUNK: Final = 64 * 1024 * 1024
# How much of the pixel stream is inflated to prove it is one: bounded work per upload.
_INFLATE_PROBE: Final = 256 * 1024
_READ: Final = 1 << 20


class _Reader:
    """Reads chunks from an open file, checking each CRC as it streams past."""

    def __init__(self, path: Path) -> None:
        self._fh = path.open("rb")

    def close(self) -> None:
        self._fh.close()

    def signature(self) -> bytes:
        return self._fh.read(len(_SIGNATURE))

    def chunk(self, keep: int) -> tuple[bytes, bytes]:
        """The next chunk's type and up to `keep` bytes of its body; raises on a short or
        damaged chunk."""
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
            if len(kept) < keep:
                kept += part[: keep - len(kept)]
            left -= len(part)
        stored = self._fh.read(4)
        if len(stored) < 4 or struct.unpack(">I", stored)[0] != crc:
            raise InvalidInput("corrupt or truncated PNG image")
        return kind, bytes(kept)


def check_png(path: Path) -> None:
    """Raise InvalidInput unless `path` is a whole, undamaged PNG (see the module doc)."""
    reader = _Reader(path)
    try:
        if reader.signature() != _SIGNATURE:
            raise InvalidInput("corrupt or unreadable PNG image")
        kind, _ = reader.chunk(keep=0)
        if kind != b"IHDR":
            raise InvalidInput("corrupt PNG image: IHDR is not the first chunk")
        inflater = zlib.decompressobj()
        inflated = 0
        seen_data = False
        while True:
            kind, body = reader.chunk(keep=_INFLATE_PROBE)
            if kind == b"IDAT":
                seen_data = True
                if inflated < _INFLATE_PROBE and not inflater.eof:
                    try:
                        inflated += len(inflater.decompress(body, _INFLATE_PROBE - inflated))
                    except zlib.error as exc:
                        raise InvalidInput("corrupt PNG image: bad pixel data") from exc
            elif kind == b"IEND":
                break
        if not seen_data:
            raise InvalidInput("corrupt PNG image: no pixel data")
        if inflated == 0:
            raise InvalidInput("corrupt PNG image: bad pixel data")
    finally:
        reader.close()
