"""inspect_upload: accepted types, mismatches, foreign formats, corrupt and truncated files."""

from __future__ import annotations

import json
import zipfile
from io import BytesIO

import pytest

from assetlens.domain import AssetType
from assetlens.errors import AssetlensError, InvalidInput, UnsupportedMediaType
from assetlens.media import ALLOWED_EXTENSIONS
from tests.support import media_samples as samples
from tests.unit.media.conftest import Inspect

EXPECTED = {
    "photo.jpg": (AssetType.IMAGE, "image/jpeg", (320, 240)),
    "photo.jpeg": (AssetType.IMAGE, "image/jpeg", (320, 240)),
    "picture.png": (AssetType.IMAGE, "image/png", (320, 240)),
    "picture.webp": (AssetType.IMAGE, "image/webp", (320, 240)),
    "anim.gif": (AssetType.IMAGE, "image/gif", (120, 90)),
    "picture.avif": (AssetType.IMAGE, "image/avif", (160, 120)),
    "clip.mp4": (AssetType.VIDEO, "video/mp4", (64, 48)),
    "clip.mov": (AssetType.VIDEO, "video/quicktime", (64, 48)),
    "clip.webm": (AssetType.VIDEO, "video/webm", (64, 48)),
    "tone.mp3": (AssetType.AUDIO, "audio/mpeg", (None, None)),
    "tone.wav": (AssetType.AUDIO, "audio/wav", (None, None)),
    "tone.m4a": (AssetType.AUDIO, "audio/mp4", (None, None)),
    "tone.flac": (AssetType.AUDIO, "audio/flac", (None, None)),
    "tone.ogg": (AssetType.AUDIO, "audio/ogg", (None, None)),
    "font.ttf": (AssetType.FONT, "font/ttf", (None, None)),
    "font.otf": (AssetType.FONT, "font/otf", (None, None)),
    "font.woff": (AssetType.FONT, "font/woff", (None, None)),
    "font.woff2": (AssetType.FONT, "font/woff2", (None, None)),
    "logo.svg": (AssetType.LOGO, "image/svg+xml", (200, 100)),
    "prompt.txt": (AssetType.TEXT, "text/plain", (None, None)),
    "prompt.md": (AssetType.TEXT, "text/markdown", (None, None)),
    "prompt.json": (AssetType.TEXT, "application/json", (None, None)),
}


def test_every_sample_has_an_expectation() -> None:
    assert set(EXPECTED) == set(samples.SAMPLES)
    assert {name.rsplit(".", 1)[1] for name in EXPECTED} <= ALLOWED_EXTENSIONS


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_accepts_every_type(inspect: Inspect, name: str) -> None:
    asset_type, mime, (width, height) = EXPECTED[name]
    found = inspect(name, samples.SAMPLES[name]())
    assert found.type is asset_type
    assert found.mime == mime
    assert found.extension == name.rsplit(".", 1)[1]
    assert (found.width, found.height) == (width, height)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("silent.mp4", samples.mp4_bytes(with_audio=False)),
        ("silent.webm", samples.webm_bytes(with_audio=False)),
        ("rgba.png", samples.png_rgba_bytes()),
        ("stereo.wav", samples.wav_bytes(channels=2)),
        ("mp4brand.mov", samples.mp4_bytes()),  # close relatives are accepted
        ("bom.txt", b"\xef\xbb\xbfhello"),
        ("one.txt", b"a"),
    ],
)
def test_accepts_variants(inspect: Inspect, name: str, data: bytes) -> None:
    assert inspect(name, data).extension == name.rsplit(".", 1)[1]


def test_sniffed_type_decides_the_mime(inspect: Inspect) -> None:
    # An MPEG-4 file in the QuickTime-named slot keeps its own (sniffed) mime.
    assert inspect("clip.mov", samples.mp4_bytes()).mime == "video/mp4"
    assert inspect("clip.mp4", samples.mov_bytes()).mime == "video/quicktime"


# --------------------------------------------------------------------------- refusals


def _zip_bytes() -> bytes:
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.txt", "hello")
    return buf.getvalue()


FOREIGN = {
    "fits": b"SIMPLE  =                    T / conforms to FITS standard" + b" " * 2800,
    "html": b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
    "zip": _zip_bytes(),
    "pdf": b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n",
    "tiff": b"II*\x00\x08\x00\x00\x00" + b"\x00" * 64,
    "gzip": b"\x1f\x8b\x08\x00" + b"\x00" * 64,
    "random": bytes(range(256)) * 4,
}


@pytest.mark.parametrize("kind", sorted(FOREIGN))
@pytest.mark.parametrize("ext", ["png", "jpg", "gif", "webp", "mp4", "mp3", "ttf", "svg"])
def test_foreign_content_behind_allowed_extension(inspect: Inspect, kind: str, ext: str) -> None:
    with pytest.raises(AssetlensError) as err:
        inspect(f"file.{ext}", FOREIGN[kind])
    assert err.value.status in (415, 422)


def test_foreign_formats_are_415_named_png(inspect: Inspect) -> None:
    for kind in ("fits", "html", "zip", "pdf"):
        with pytest.raises(UnsupportedMediaType, match="not accepted"):
            inspect("file.png", FOREIGN[kind])


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("png-as.jpg", samples.png_bytes()),
        ("jpeg-as.png", samples.jpeg_bytes()),
        ("gif-as.webp", samples.gif_bytes()),
        ("mp4-as.webm", samples.mp4_bytes()),
        ("mp3-as.wav", samples.mp3_bytes()),
        ("ogg-as.flac", samples.ogg_bytes()),
        ("woff-as.woff2", samples.woff_bytes()),
        ("ttf-as.woff", samples.ttf_bytes()),
        ("svg-as.png", samples.svg_bytes()),
        ("png-as.txt", samples.png_bytes()),
        ("ttf-as.json", samples.ttf_bytes()),
        ("png-as.mp3", samples.png_bytes()),
    ],
)
def test_extension_content_mismatch_is_422(inspect: Inspect, name: str, data: bytes) -> None:
    with pytest.raises(InvalidInput, match="extension"):
        inspect(name, data)


def test_audio_in_a_video_slot_and_video_in_an_audio_slot(inspect: Inspect) -> None:
    with pytest.raises(InvalidInput, match="extension"):
        inspect("sound.mp4", samples.m4a_bytes())
    with pytest.raises(InvalidInput, match="no video stream"):
        inspect("sound.mp4", samples.mp4_audio_only_bytes())
    assert inspect("sound.m4a", samples.mp4_audio_only_bytes()).mime == "audio/mp4"
    with pytest.raises(InvalidInput, match="holds video"):
        inspect("movie.m4a", samples.mp4_bytes())


def test_unknown_extension_is_415(inspect: Inspect) -> None:
    with pytest.raises(UnsupportedMediaType, match="not accepted"):
        inspect("page.html", b"<html></html>")
    with pytest.raises(UnsupportedMediaType):
        inspect("noextension", samples.png_bytes())


@pytest.mark.parametrize("ext", sorted(ALLOWED_EXTENSIONS))
def test_empty_file_refused(inspect: Inspect, ext: str) -> None:
    with pytest.raises(UnsupportedMediaType, match="empty"):
        inspect(f"empty.{ext}", b"")


@pytest.mark.parametrize("ext", sorted(ALLOWED_EXTENSIONS - {"txt", "md", "markdown"}))
def test_one_byte_file_refused(inspect: Inspect, ext: str) -> None:
    for byte in (b"\x00", b"\x89", b"{", b"<", b"a"):
        with pytest.raises(AssetlensError) as err:
            inspect(f"one.{ext}", byte)
        assert err.value.status in (415, 422)


# --------------------------------------------------------------------------- corrupt


def _truncated(data: bytes, fraction: float) -> bytes:
    return data[: max(1, int(len(data) * fraction))]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("cut.jpg", _truncated(samples.jpeg_bytes(), 0.5)),
        ("cut.png", _truncated(samples.png_bytes(), 0.5)),
        ("cut.webp", _truncated(samples.webp_bytes(), 0.5)),
        ("cut.gif", _truncated(samples.gif_bytes(), 0.3)),
        ("cut.avif", _truncated(samples.avif_bytes(), 0.5)),
        ("cut.mp4", _truncated(samples.mp4_bytes(), 0.5)),
        ("cut.mov", _truncated(samples.mov_bytes(), 0.5)),
        ("cut.webm", samples.webm_bytes()[:300]),
        ("cut.m4a", _truncated(samples.m4a_bytes(), 0.5)),
        ("cut.mp3", samples.mp3_bytes()[:60]),
        ("cut.flac", samples.flac_bytes()[:60]),
        ("cut.ogg", samples.ogg_bytes()[:60]),
        ("cut.wav", samples.wav_bytes()[:30]),
        ("cut.ttf", _truncated(samples.ttf_bytes(), 0.6)),
        ("cut.otf", _truncated(samples.otf_bytes(), 0.6)),
        ("cut.woff", _truncated(samples.woff_bytes(), 0.6)),
        ("cut.woff2", _truncated(samples.woff2_bytes(), 0.6)),
        ("cut.svg", samples.svg_bytes()[:80]),
        ("cut.json", samples.json_bytes()[:20]),
    ],
)
def test_truncated_files_are_422(inspect: Inspect, name: str, data: bytes) -> None:
    with pytest.raises(InvalidInput):
        inspect(name, data)


def test_corrupt_image_body_is_422(inspect: Inspect) -> None:
    data = bytearray(samples.png_bytes())
    # Keep the signature and IHDR, scramble the compressed pixel data.
    for i in range(100, len(data) - 20):
        data[i] ^= 0x5A
    with pytest.raises(InvalidInput):
        inspect("scrambled.png", bytes(data))


def test_font_missing_required_tables_is_422(inspect: Inspect) -> None:
    from fontTools.ttLib import TTFont

    font = TTFont(BytesIO(samples.ttf_bytes()))
    del font["cmap"]
    buf = BytesIO()
    font.save(buf)
    with pytest.raises(InvalidInput, match="cmap"):
        inspect("nocmap.ttf", buf.getvalue())


# --------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("nul.txt", b"hello\x00world", "NUL"),
        ("latin1.txt", "café".encode("latin-1"), "UTF-8"),
        ("blank.md", b"  \n\t\n", "blank"),
        ("bad.json", b"{'single': quotes}", "invalid JSON"),
        ("trailing.json", b'{"a": 1} extra', "invalid JSON"),
        ("deep.json", b"[" * 100 + b"]" * 100, "nested"),
        ("deeper.json", b"[" * 100_000 + b"]" * 100_000, "nested"),
    ],
)
def test_bad_text_is_422(inspect: Inspect, name: str, data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        inspect(name, data)


def test_json_at_the_depth_limit_is_accepted(inspect: Inspect) -> None:
    value: object = 1
    for _ in range(64):
        value = [value]
    assert inspect("ok.json", json.dumps(value).encode()).mime == "application/json"


@pytest.mark.parametrize("kind", ["pdf", "zip", "fits", "gzip", "tiff"])
def test_foreign_formats_named_txt_are_refused(inspect: Inspect, kind: str) -> None:
    with pytest.raises(UnsupportedMediaType):
        inspect("doc.txt", FOREIGN[kind])


def test_html_named_txt_is_plain_text(inspect: Inspect) -> None:
    # Stored and served as text/plain with nosniff: a browser shows it, never runs it.
    assert inspect("page.txt", FOREIGN["html"]).mime == "text/plain"
