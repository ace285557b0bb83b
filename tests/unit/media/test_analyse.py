"""analyse: technical metadata, WebP previews, poster frames, waveforms, specimens, pHash."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from assetlens.domain import AssetType
from assetlens.media import Analysis, analyse, hamming, inspect_upload
from assetlens.media.phash import perceptual_hash
from tests.support import media_samples as samples
from tests.unit.media.conftest import MAX_PIXELS, WriteFile, rgb_at


def _analyse(write_file: WriteFile, name: str, data: bytes) -> Analysis:
    path = write_file(name, data)
    found = inspect_upload(path, name, max_image_pixels=MAX_PIXELS)
    return analyse(path, found.type, found.mime)


def _preview(result: Analysis, size: str) -> Image.Image:
    im = Image.open(io.BytesIO(result.previews[size]))
    assert im.format == "WEBP"
    return im


@pytest.mark.parametrize("name", sorted(samples.SAMPLES))
def test_every_type_gets_webp_previews(write_file: WriteFile, name: str) -> None:
    result = _analyse(write_file, name, samples.SAMPLES[name]())
    assert set(result.previews) == {"small", "medium"}
    small, medium = _preview(result, "small"), _preview(result, "medium")
    assert max(small.size) <= 150
    assert max(medium.size) <= 600
    assert result.media.format is not None


def test_preview_sizes_follow_the_longest_side(write_file: WriteFile) -> None:
    result = _analyse(write_file, "big.png", samples.png_bytes((1200, 800)))
    assert _preview(result, "medium").size == (600, 400)
    assert _preview(result, "small").size == (150, 100)
    assert result.embed_image is not None
    assert result.embed_image.mode == "RGB"


def test_small_images_are_not_upscaled(write_file: WriteFile) -> None:
    result = _analyse(write_file, "tiny.png", samples.png_bytes((100, 40)))
    assert _preview(result, "medium").size == (100, 40)
    assert _preview(result, "small").size == (100, 40)


def test_image_metadata(write_file: WriteFile) -> None:
    media = _analyse(write_file, "photo.jpg", samples.jpeg_bytes((320, 240))).media
    assert (media.format, media.width, media.height) == ("jpeg", 320, 240)
    assert (media.color_mode, media.has_alpha, media.frames) == ("RGB", False, 1)
    assert media.orientation is None


def test_transparency_is_reported_and_kept(write_file: WriteFile) -> None:
    result = _analyse(write_file, "rgba.png", samples.png_rgba_bytes())
    assert result.media.has_alpha is True
    assert result.media.color_mode == "RGBA"
    medium = _preview(result, "medium")
    assert medium.mode == "RGBA"
    corner = medium.getpixel((0, 0))
    assert isinstance(corner, tuple) and corner[3] == 0
    # The embed image is flattened onto white.
    assert result.embed_image is not None
    assert rgb_at(result.embed_image, (0, 0)) == (255, 255, 255)


def test_exif_orientation_is_applied(write_file: WriteFile) -> None:
    result = _analyse(write_file, "rotated.jpg", samples.marked_jpeg_bytes(orientation=6))
    assert result.media.orientation == 6
    assert (result.media.width, result.media.height) == (300, 100)  # as stored
    medium = _preview(result, "medium").convert("RGB")
    assert medium.size == (100, 300)  # upright
    top, bottom = rgb_at(medium, (50, 20)), rgb_at(medium, (50, 280))
    assert top[0] > 200 and top[1] < 60
    assert bottom[0] > 200 and bottom[1] > 200
    assert result.embed_image is not None
    assert result.embed_image.size == (100, 300)


def test_animated_gif_previews_its_first_frame(write_file: WriteFile) -> None:
    result = _analyse(write_file, "anim.gif", samples.gif_bytes(frames=4))
    assert result.media.frames == 4
    centre = rgb_at(_preview(result, "medium"), (60, 45))
    assert centre[0] > 200 and centre[2] < 60  # red, not blue


@pytest.mark.parametrize(
    ("name", "make", "codec"),
    [
        ("clip.mp4", samples.mp4_bytes, "h264"),
        ("clip.mov", samples.mov_bytes, "h264"),
        ("clip.webm", samples.webm_bytes, "vp9"),
    ],
)
def test_video_metadata(
    write_file: WriteFile, name: str, make: Callable[[], bytes], codec: str
) -> None:
    media = _analyse(write_file, name, make()).media
    assert media.duration == pytest.approx(2.0, abs=0.05)
    assert (media.width, media.height) == (64, 48)
    assert media.fps == pytest.approx(10.0)
    assert media.codec == codec
    assert media.has_audio is True
    assert media.bitrate is not None and media.bitrate > 0


def test_video_without_audio(write_file: WriteFile) -> None:
    result = _analyse(write_file, "mute.mp4", samples.mp4_bytes(with_audio=False))
    assert result.media.has_audio is False


def _grey_level(im: Image.Image | None) -> float:
    assert im is not None
    return float(np.asarray(im.convert("L")).mean())


def test_poster_frame_is_taken_at_a_quarter_of_the_duration(write_file: WriteFile) -> None:
    # Frame i has grey level 12·i at 10 fps; a quarter of 2 s is frame 5 (level 60).
    result = _analyse(write_file, "clip.mp4", samples.mp4_bytes(seconds=2.0))
    assert _grey_level(result.embed_image) == pytest.approx(60, abs=4)
    assert _grey_level(_preview(result, "medium")) == pytest.approx(60, abs=4)
    longer = _analyse(write_file, "long.mp4", samples.mp4_bytes(seconds=4.0))
    assert _grey_level(longer.embed_image) == pytest.approx(120, abs=4)  # frame 10


def test_webm_poster_frame_is_near_a_quarter(write_file: WriteFile) -> None:
    result = _analyse(write_file, "clip.webm", samples.webm_bytes())
    # WebM's duration includes the last frame's length, so frame 5 or 6.
    assert 56 <= _grey_level(result.embed_image) <= 76


def test_video_rotation_is_applied_to_the_poster(write_file: WriteFile) -> None:
    result = _analyse(write_file, "phone.mp4", samples.mp4_bytes(with_audio=False, rotation=90))
    assert result.embed_image is not None
    assert result.embed_image.size == (48, 64)


def test_video_has_a_phash_from_its_poster(write_file: WriteFile) -> None:
    result = _analyse(write_file, "clip.mp4", samples.mp4_bytes())
    assert result.phash is not None
    assert len(result.phash) == 16
    assert result.embed_image is not None
    assert result.phash == perceptual_hash(result.embed_image)


@pytest.mark.parametrize(
    ("name", "make", "codec", "rate"),
    [
        ("tone.mp3", samples.mp3_bytes, "mp3float", 44_100),
        ("tone.wav", samples.wav_bytes, "pcm_s16le", 8000),
        ("tone.m4a", samples.m4a_bytes, "aac", 44_100),
        ("tone.flac", samples.flac_bytes, "flac", 44_100),
        ("tone.ogg", samples.ogg_bytes, "opus", 48_000),
    ],
)
def test_audio_metadata(
    write_file: WriteFile, name: str, make: Callable[[], bytes], codec: str, rate: int
) -> None:
    result = _analyse(write_file, name, make())
    media = result.media
    assert media.duration == pytest.approx(1.0, abs=0.05)
    assert media.codec == codec
    assert media.sample_rate == rate
    assert media.channels == 1
    assert media.bitrate is not None and media.bitrate > 0
    assert result.phash is None
    assert result.embed_image is None
    if name != "tone.wav":
        assert media.tags.get("title") == "Sample tone"
        assert media.tags.get("artist") == "Assetlens"
        assert "encoder" not in media.tags


def test_waveform_shows_quiet_then_loud(write_file: WriteFile) -> None:
    result = _analyse(write_file, "tone.wav", samples.wav_bytes(seconds=2.0))
    wave = np.asarray(_preview(result, "medium").convert("L")).astype(float)
    assert wave.shape == (200, 600)
    ink = wave < 180  # bars are drawn dark on a light background
    left, right = ink[:, :280].sum(axis=0).mean(), ink[:, 320:].sum(axis=0).mean()
    assert right > 4 * left
    assert _preview(result, "small").size == (150, 50)


def test_stereo_wav_channels(write_file: WriteFile) -> None:
    assert _analyse(write_file, "st.wav", samples.wav_bytes(channels=2)).media.channels == 2


@pytest.mark.parametrize(
    ("name", "make", "style", "weight"),
    [
        ("font.ttf", samples.ttf_bytes, "Regular", 400),
        ("font.otf", samples.otf_bytes, "Bold", 700),
        ("font.woff", samples.woff_bytes, "Regular", 400),
        ("font.woff2", samples.woff2_bytes, "Italic", 400),
    ],
)
def test_font_metadata_and_specimen(
    write_file: WriteFile, name: str, make: Callable[[], bytes], style: str, weight: int
) -> None:
    result = _analyse(write_file, name, make())
    media = result.media
    assert media.family == samples.FONT_FAMILY
    assert (media.style, media.weight) == (style, weight)
    assert media.glyphs == len(samples._FONT_CHARS) + 2  # + .notdef and space
    assert media.scripts == ["Latin"]
    specimen = np.asarray(_preview(result, "medium").convert("L"))
    assert specimen.shape[1] == 600
    assert (specimen < 100).mean() > 0.02  # the glyph boxes are drawn in black
    assert result.embed_image is None


def test_svg_rasterised(write_file: WriteFile) -> None:
    result = _analyse(write_file, "logo.svg", samples.svg_bytes())
    assert (result.media.width, result.media.height) == (200, 100)
    medium = _preview(result, "medium").convert("RGB")
    assert medium.size == (600, 300)
    r, g, b = rgb_at(medium, (300, 150))
    assert r > 200 and g > 180 and b < 80  # the yellow disc
    assert result.phash is not None
    assert result.embed_image is not None


def test_text_card(write_file: WriteFile) -> None:
    result = _analyse(write_file, "prompt.md", samples.md_bytes())
    assert result.media.format == "md"
    card = np.asarray(_preview(result, "medium").convert("L"))
    assert (card < 120).mean() > 0.005  # some text was drawn
    assert result.phash is None and result.embed_image is None


# --------------------------------------------------------------------------- pHash


def test_phash_near_duplicates_are_close(write_file: WriteFile) -> None:
    original = samples.gradient_image((640, 480), seed=3)
    variants = [
        original.resize((480, 360)),
        Image.eval(original, lambda v: min(255, int(v * 1.1))),
        original.crop((8, 6, 632, 474)),
    ]
    base = perceptual_hash(original)
    for variant in variants:
        recompressed = Image.open(io.BytesIO(samples.encode_image(variant, "JPEG", quality=55)))
        assert hamming(base, perceptual_hash(recompressed.convert("RGB"))) <= 6


def test_phash_of_different_images_is_far(write_file: WriteFile) -> None:
    hashes = []
    for name, data in samples.make_demo_images(8):
        phash = _analyse(write_file, name, data).phash
        assert phash is not None
        hashes.append(phash)
    distances = [hamming(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1 :]]
    assert min(distances) >= 12


def test_same_picture_in_two_formats_has_the_same_phash(write_file: WriteFile) -> None:
    png = _analyse(write_file, "a.png", samples.png_bytes((400, 300), seed=5))
    jpg = _analyse(write_file, "a.jpg", samples.jpeg_bytes((400, 300), seed=5))
    assert png.phash is not None and jpg.phash is not None
    assert hamming(png.phash, jpg.phash) <= 4


# --------------------------------------------------------------------------- robustness


@pytest.mark.parametrize(
    ("name", "mime", "asset_type"),
    [
        ("bad.png", "image/png", AssetType.IMAGE),
        ("bad.mp4", "video/mp4", AssetType.VIDEO),
        ("bad.mp3", "audio/mpeg", AssetType.AUDIO),
        ("bad.ttf", "font/ttf", AssetType.FONT),
        ("bad.svg", "image/svg+xml", AssetType.LOGO),
        ("bad.bin", "application/x-unknown", AssetType.OTHER),
    ],
)
def test_analyse_never_raises_on_bad_files(
    write_file: WriteFile, name: str, mime: str, asset_type: AssetType
) -> None:
    path = write_file(name, b"\x00garbage" * 20)
    result = analyse(path, asset_type, mime)
    assert result.previews == {}
    assert result.phash is None


def test_analyse_keeps_metadata_when_only_previews_fail(write_file: WriteFile) -> None:
    # A truncated PNG still has a readable header: metadata survives, previews do not.
    data = samples.png_bytes((320, 240))
    path = write_file("half.png", data[: len(data) // 2])
    result = analyse(path, AssetType.IMAGE, "image/png")
    assert (result.media.width, result.media.height) == (320, 240)
    assert result.previews == {}


def test_png_filed_as_logo_is_analysed_as_an_image(write_file: WriteFile) -> None:
    path = write_file("logo.png", samples.png_bytes())
    result = analyse(path, AssetType.LOGO, "image/png")
    assert result.media.format == "png"
    assert result.embed_image is not None


def test_demo_images_are_distinct_pngs() -> None:
    demo = samples.make_demo_images(12)
    assert len({name for name, _ in demo}) == 12
    assert len({data for _, data in demo}) == 12
    for _, data in demo:
        assert data.startswith(b"\x89PNG")
