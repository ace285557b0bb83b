"""The extension allow-list, active-content mimes and pHash distances."""

from __future__ import annotations

import pytest

from assetlens.domain import AssetType
from assetlens.media import (
    ALLOWED_EXTENSIONS,
    MIME_BY_EXTENSION,
    classify_extension,
    hamming,
    is_active_content,
)


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("photo.jpg", (AssetType.IMAGE, "jpg")),
        ("PHOTO.JPEG", (AssetType.IMAGE, "jpeg")),
        ("a.b.c.Png", (AssetType.IMAGE, "png")),
        ("logo.svg", (AssetType.LOGO, "svg")),
        ("clip.MOV", (AssetType.VIDEO, "mov")),
        ("tone.m4a", (AssetType.AUDIO, "m4a")),
        ("face.woff2", (AssetType.FONT, "woff2")),
        ("prompt.md", (AssetType.TEXT, "md")),
        ("dir/sub\\data.json", (AssetType.TEXT, "json")),
    ],
)
def test_classify_allowed(filename: str, expected: tuple[AssetType, str]) -> None:
    assert classify_extension(filename) == expected


@pytest.mark.parametrize(
    "filename", ["noext", "evil.exe", "page.html", "x.svgz", "a.png.php", "trailing.", ".png/"]
)
def test_classify_refused(filename: str) -> None:
    assert classify_extension(filename) is None


def test_every_allowed_extension_has_a_mime() -> None:
    assert set(MIME_BY_EXTENSION) >= ALLOWED_EXTENSIONS
    assert {
        "jpg",
        "png",
        "webp",
        "gif",
        "mp4",
        "mov",
        "webm",
        "mp3",
        "wav",
        "m4a",
        "flac",
        "ogg",
        "ttf",
        "otf",
        "woff",
        "woff2",
        "svg",
        "txt",
        "md",
        "json",
    } <= ALLOWED_EXTENSIONS


@pytest.mark.parametrize(
    "mime",
    [
        "image/svg+xml",
        "text/html",
        "application/xhtml+xml",
        "text/xml",
        "application/xml",
        "image/svg+xml; charset=utf-8",
        "application/rss+xml",
        "TEXT/HTML",
        "application/pdf",
    ],
)
def test_active_content(mime: str) -> None:
    assert is_active_content(mime)


@pytest.mark.parametrize(
    "mime",
    [
        "image/png",
        "image/jpeg",
        "video/mp4",
        "audio/ogg",
        "font/woff2",
        "text/plain",
        "application/json",
        "text/markdown",
    ],
)
def test_passive_content(mime: str) -> None:
    assert not is_active_content(mime)


def test_hamming() -> None:
    assert hamming("0000000000000000", "0000000000000000") == 0
    assert hamming("ffffffffffffffff", "0000000000000000") == 64
    assert hamming("8000000000000001", "0000000000000000") == 2
    with pytest.raises(ValueError):
        hamming("ff", "ffff")
