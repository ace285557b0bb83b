"""The analysis reads the stealth pixels from its own decode and hands the text to provenance
extraction: the same answer as extraction decoding the file itself, one decode fewer."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assetlens import media
from assetlens.domain import AssetType
from assetlens.provenance import extract
from assetlens.provenance.stealth import StealthRead, read_stealth
from tests.unit.provenance import fixtures as fx

_ORIENTATION = 0x0112


def _rgb_stealth_png(path: Path, payload: bytes, size: tuple[int, int] = (64, 48)) -> Path:
    """An RGB PNG whose R, G, B LSBs (pixel by pixel, column-major) hold stealth_rgbinfo."""
    bits = np.unpackbits(
        np.frombuffer(
            b"stealth_rgbinfo" + struct.pack(">I", len(payload) * 8) + payload, dtype=np.uint8
        )
    )
    width, height = size
    channels = np.full(width * height * 3, 120, dtype=np.uint8)
    assert bits.size <= channels.size, "image too small for the payload"
    channels[: bits.size] |= bits
    # Column-major: column x, row y, channel c at ((x * height) + y) * 3 + c.
    rgb = channels.reshape(width, height, 3).transpose(1, 0, 2)
    Image.fromarray(np.ascontiguousarray(rgb), "RGB").save(path, "PNG")
    return path


def _rotated(path: Path) -> Path:
    """The same pixels, saved with EXIF orientation 6 (the analysis turns its picture, the
    stealth reader must not)."""
    with Image.open(path) as im:
        exif = Image.Exif()
        exif[_ORIENTATION] = 6
        rotated = path.with_name("rotated-" + path.name)
        im.save(rotated, "PNG", exif=exif)
    return rotated


def _files(tmp_path: Path) -> dict[str, Path]:
    novelai = json.dumps(fx.NOVELAI_TEXTS).encode()
    files = {
        "alpha, gzip": fx.stealth_png(tmp_path / "a.png", novelai),
        "alpha, plain": fx.stealth_png(
            tmp_path / "b.png", fx.A1111_TEXT.encode(), magic=b"stealth_pnginfo", size=(64, 128)
        ),
        "rgb, plain": _rgb_stealth_png(tmp_path / "c.png", fx.A1111_TEXT.encode()),
        "none": fx.png_with_texts(tmp_path / "d.png", {}),
    }
    files["alpha, gzip, rotated"] = _rotated(files["alpha, gzip"])
    return files


@pytest.mark.parametrize(
    "name", ["alpha, gzip", "alpha, plain", "rgb, plain", "none", "alpha, gzip, rotated"]
)
def test_the_analysis_reads_what_extraction_would(tmp_path: Path, name: str) -> None:
    path = _files(tmp_path)[name]
    analysis = media.analyse(path, AssetType.IMAGE, "image/png")
    with Image.open(path) as im:
        im.load()
        expected = read_stealth(im)
    assert analysis.stealth == StealthRead(expected)
    assert (expected is None) == (name == "none")
    assert extract(path, "image/png", analysis.stealth) == extract(path, "image/png")


def test_a_webp_is_read_too_and_a_jpeg_is_not(tmp_path: Path) -> None:
    source = fx.stealth_png(
        tmp_path / "s.png", fx.A1111_TEXT.encode(), magic=b"stealth_pnginfo", size=(64, 128)
    )
    webp, jpeg = tmp_path / "s.webp", tmp_path / "s.jpg"
    with Image.open(source) as im:
        im.save(webp, "WEBP", lossless=True, exact=True)
        im.convert("RGB").save(jpeg, "JPEG")
    found = media.analyse(webp, AssetType.IMAGE, "image/webp").stealth
    assert found == StealthRead(fx.A1111_TEXT)
    assert media.analyse(jpeg, AssetType.IMAGE, "image/jpeg").stealth is None


def test_extraction_takes_the_handed_over_text_instead_of_decoding(tmp_path: Path) -> None:
    plain = fx.png_with_texts(tmp_path / "plain.png", {})
    hidden = fx.stealth_png(
        tmp_path / "hidden.png", fx.A1111_TEXT.encode(), magic=b"stealth_pnginfo", size=(64, 128)
    )
    handed = extract(plain, "image/png", StealthRead(fx.A1111_TEXT))
    assert handed is not None and handed.generator == "a1111"
    # "The analysis found nothing" is believed as well: no second look at the pixels.
    assert extract(hidden, "image/png", StealthRead(None)) is None
    assert extract(hidden, "image/png") is not None


def test_metadata_in_chunks_still_wins_over_stealth_text(tmp_path: Path) -> None:
    path = fx.png_with_texts(tmp_path / "t.png", fx.NOVELAI_TEXTS)
    generation = extract(path, "image/png", StealthRead(fx.A1111_TEXT))
    assert generation is not None and generation.generator != "a1111"
