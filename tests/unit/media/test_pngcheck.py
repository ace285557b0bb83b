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
    parts = [idat[i : i + split] for i in range(0, len(idat), split)] if split else [idat]
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + b"".join(_chunk(b"IDAT", part) for part in parts)
        + _chunk(b"IEND", b"")
    )


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
    data[idat : idat + 4] = struct.pack(">I", 10_000)
    with pytest.raises(InvalidInput):
        inspect("short.png", bytes(data))


def test_an_animated_png_is_still_decoded_frame_by_frame(inspect: Inspect) -> None:
    from PIL import Image

    frames = [Image.new("RGB", (16, 16), (i * 40, 0, 0)) for i in range(3)]
    apng = samples.encode_image(frames[0], "PNG", save_all=True, append_images=frames[1:])
    assert inspect("anim.png", apng).width == 16
    with pytest.raises(InvalidInput):
        inspect("anim-cut.png", apng[: len(apng) * 2 // 3])


def test_damage_deep_in_the_pixel_stream_is_422_though_every_crc_is_good(inspect: Inspect) -> None:
    """The CRCs are recomputed around the damage (as a crafted file would): only inflating
    the whole stream finds it, far past where a bounded probe would have stopped."""
    rows = [b"\x00" + bytes((x * 7 + y) % 256 for x in range(3 * 512)) for y in range(512)]
    stream = bytearray(zlib.compress(b"".join(rows), 0))  # stored blocks: bytes map 1:1
    stream[-40_000] ^= 0xFF  # one pixel byte ~750 KB in: only the stream's Adler-32 sees it
    damaged = _png(bytes(stream), width=512, height=512, split=8192)
    with pytest.raises(InvalidInput, match="bad pixel data"):
        inspect("deep.png", damaged)


def test_a_stream_with_fewer_rows_than_ihdr_declares_is_422(inspect: Inspect) -> None:
    with pytest.raises(InvalidInput, match="size"):
        inspect("rows.png", _png(_pixels(height=3), height=4))


def test_a_stream_with_more_rows_than_ihdr_declares_is_422(inspect: Inspect) -> None:
    with pytest.raises(InvalidInput, match="size"):
        inspect("long.png", _png(_pixels(height=6), height=4))


@pytest.mark.parametrize("mode", ["1", "L", "P", "LA", "RGB", "RGBA", "I;16"])
def test_every_pixel_layout_pillow_writes_is_accepted(inspect: Inspect, mode: str) -> None:
    from PIL import Image

    image = Image.new(mode, (37, 13))
    assert inspect(f"{mode}.png", samples.encode_image(image, "PNG")).width == 37


def test_an_interlaced_png_is_accepted(inspect: Inspect) -> None:
    """Adam7: seven passes of sub-images, each row with its filter byte."""
    width, height = 13, 9
    passes = (
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    )
    raw = b""
    for x0, y0, dx, dy in passes:
        columns, rows = len(range(x0, width, dx)), len(range(y0, height, dy))
        if columns and rows:
            raw += (b"\x00" + b"\x40" * 3 * columns) * rows
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 1)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw))
        + _chunk(b"IEND", b"")
    )
    assert (inspect("adam7.png", data).width, inspect("adam7b.png", data).height) == (13, 9)
