"""Upload validation of still PNGs without a full decode: the chunk CRCs and a bounded
inflate must refuse every damaged file that a full decode refused, and accept what decoders
accept."""

from __future__ import annotations

import struct
import zlib

import pytest

from assetlens.errors import InvalidInput
from tests.support import media_samples as samples
from tests.unit.media.conftest import Inspect


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(idat: bytes, *, width: int = 4, height: int = 4, split: int = 0) -> bytes:
    """An RGB PNG whose pixel stream is `idat`, in chunks of `split` bytes (0: one)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    parts = [idat[i:i + split] for i in range(0, len(idat), split)] if split else [idat]
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + b"".join(_chunk(b"IDAT", part) for part in parts) + _chunk(b"IEND", b""))


def _pixels(width: int = 4, height: int = 4) -> bytes:
    return zlib.compress(b"".join(b"\x00" + b"\x80" * 3 * width for _ in range(height)))


def test_a_sound_png_in_many_small_idat_chunks_is_accepted(inspect: Inspect) -> None:
    found = inspect("split.png", _png(_pixels(), split=3))
    assert (found.width, found.height) == (4, 4)


def test_bytes_after_iend_are_ignored_as_decoders_do(inspect: Inspect) -> None:
    found = inspect("tail.png", samples.png_bytes() + b"\x00\x01\x02\x03")
    assert found.mime == "image/png"


def test_one_flipped_byte_in_the_pixel_data_is_422(inspect: Inspect) -> None:
    data = bytearray(samples.png_bytes((64, 64)))
    data[len(data) // 2] ^= 0x01
    with pytest.raises(InvalidInput, match="corrupt"):
        inspect("flipped.png", bytes(data))


def test_pixel_data_that_is_not_zlib_is_422_even_with_good_crcs(inspect: Inspect) -> None:
    with pytest.raises(InvalidInput, match="pixel data"):
        inspect("garbage.png", _png(b"\xff" * 64))


def test_a_png_without_pixel_data_is_422(inspect: Inspect) -> None:
    header = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IEND", b"")
    with pytest.raises(InvalidInput):
        inspect("empty.png", data)


def test_a_png_cut_before_iend_is_422(inspect: Inspect) -> None:
    data = _png(_pixels())
    with pytest.raises(InvalidInput, match="truncated"):
        inspect("cut.png", data[:-12])


def test_a_chunk_claiming_more_bytes_than_the_file_has_is_422(inspect: Inspect) -> None:
    data = bytearray(_png(_pixels()))
    idat = data.index(b"IDAT") - 4
    data[idat:idat + 4] = struct.pack(">I", 10_000)
    with pytest.raises(InvalidInput):
        inspect("short.png", bytes(data))


def test_an_animated_png_is_still_decoded_frame_by_frame(inspect: Inspect) -> None:
    from PIL import Image

    frames = [Image.new("RGB", (16, 16), (i * 40, 0, 0)) for i in range(3)]
    apng = samples.encode_image(frames[0], "PNG", save_all=True, append_images=frames[1:])
    assert inspect("anim.png", apng).width == 16
    with pytest.raises(InvalidInput):
        inspect("anim-cut.png", apng[: len(apng) * 2 // 3])
