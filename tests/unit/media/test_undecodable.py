"""An image whose pixels do not decode at analysis is `undecodable` (the indexer fails the
asset) rather than analysed into previews of whatever a second decode left behind."""

from __future__ import annotations

import struct
import zlib

import pytest

from assetlens import media
from assetlens.domain import AssetType
from tests.support import media_samples as samples
from tests.unit.media.conftest import WriteFile


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(idat: bytes, *, width: int = 64, height: int = 64) -> bytes:
    """An RGB PNG whose pixel stream is `idat`, every CRC good (as a crafted file has)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("name", "data", "mime"),
    [
        # Pillow's first decode of these fails inside the EXIF lookup of a PNG; a second one
        # used to "succeed" on the same broken stream and make previews of it.
        ("not-zlib.png", _png(b"\x78\x9c" + b"\xff" * 4000), "image/png"),
        ("cut.png", samples.png_bytes((320, 240))[:9000], "image/png"),
        ("cut.jpg", samples.jpeg_bytes((640, 480))[:6000], "image/jpeg"),
    ],
)
def test_pixels_that_do_not_decode_make_an_undecodable_analysis(
    write_file: WriteFile, name: str, data: bytes, mime: str
) -> None:
    analysis = media.analyse(write_file(name, data), AssetType.IMAGE, mime)
    assert analysis.undecodable
    assert analysis.previews == {} and analysis.embed_image is None and analysis.phash is None
    assert analysis.media.width is not None  # what the header said is kept


@pytest.mark.parametrize(
    ("name", "data", "mime"),
    [
        ("sound.png", samples.png_bytes((640, 480)), "image/png"),
        ("sound.jpg", samples.jpeg_bytes((640, 480)), "image/jpeg"),
        ("sound.webp", samples.webp_bytes((640, 480)), "image/webp"),
    ],
)
def test_sound_images_are_not(write_file: WriteFile, name: str, data: bytes, mime: str) -> None:
    analysis = media.analyse(write_file(name, data), AssetType.IMAGE, mime)
    assert not analysis.undecodable
    assert set(analysis.previews) == {"small", "medium"}
    assert (analysis.media.width, analysis.media.height) == (640, 480)
