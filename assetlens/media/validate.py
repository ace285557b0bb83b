"""Upload validation: the extension and the sniffed content must agree, and the file must
decode. The sniffed format decides the mime that is stored and served."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from assetlens.domain import AssetType
from assetlens.errors import InvalidInput, UnsupportedMediaType
from assetlens.media.avmedia import validate_audio, validate_video
from assetlens.media.fonts import validate_font
from assetlens.media.images import validate_image
from assetlens.media.results import Inspection
from assetlens.media.sniff import HEAD_BYTES, Sniffed, sniff
from assetlens.media.svg import validate_svg
from assetlens.media.text import validate_text
from assetlens.media.types import (
    COMPATIBLE_FORMATS,
    MIME_BY_EXTENSION,
    MIME_BY_FORMAT,
    classify_extension,
    extension_of,
)

#: Text files are read whole to validate; bigger ones are refused before reading.
MAX_TEXT_VALIDATE_BYTES: Final = 64 * 1024 * 1024
# Binary formats need a few bytes of signature; anything shorter cannot be one of them.
_MIN_BINARY_BYTES: Final = 8
# Formats whose files can be plain ASCII yet must not pass as text.
_TEXT_IMPOSTORS: Final = frozenset({"pdf", "fits"})


def _read_head(path: Path) -> tuple[bytes, int]:
    size = path.stat().st_size
    with path.open("rb") as fh:
        return fh.read(HEAD_BYTES), size


def _describe(found: Sniffed | None) -> str:
    return found.label if found is not None else "an unrecognised format"


def _check_agrees(found: Sniffed | None, extension: str) -> str:
    """The sniffed format when it belongs under `extension`; raises otherwise."""
    if found is None or not found.allowed:
        raise UnsupportedMediaType(
            f"content is {_describe(found)}, which is not accepted as .{extension}"
        )
    if found.format not in COMPATIBLE_FORMATS[extension]:
        raise InvalidInput(f"content is {found.label} but the file extension is .{extension}")
    return found.format


def _inspect_text(path: Path, extension: str, head: bytes, size: int) -> Inspection:
    if size > MAX_TEXT_VALIDATE_BYTES:
        raise InvalidInput("text file too large to validate")
    data = head if size <= len(head) else path.read_bytes()
    found = sniff(head)
    binary = b"\x00" in head or not _looks_textual(head)
    if found is not None and (binary or found.format in _TEXT_IMPOSTORS):
        if found.allowed:
            raise InvalidInput(f"content is {found.label} but the file extension is .{extension}")
        raise UnsupportedMediaType(f"content is {found.label}, not text")
    validate_text(data, extension)
    return Inspection(AssetType.TEXT, MIME_BY_EXTENSION[extension], extension)


def _looks_textual(head: bytes) -> bool:
    # A truncated multi-byte character at the end of the head is fine.
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True


def _inspect_svg(path: Path, extension: str, head: bytes) -> Inspection:
    found = sniff(head)
    # A long comment or DOCTYPE can push `<svg` past the sniffed head: XML is parsed anyway.
    undecided = found is None or found.format == "xml"
    if not (undecided and _looks_textual(head)):
        _check_agrees(found, extension)
    width, height = validate_svg(path.read_bytes())
    return Inspection(AssetType.LOGO, MIME_BY_FORMAT["svg"], extension, width, height)


def _inspect_binary(
    path: Path, asset_type: AssetType, extension: str, head: bytes, max_image_pixels: int
) -> Inspection:
    fmt = _check_agrees(sniff(head), extension)
    mime = MIME_BY_FORMAT[fmt]
    width: int | None = None
    height: int | None = None
    if asset_type is AssetType.IMAGE:
        width, height = validate_image(path, fmt, max_image_pixels)
    elif asset_type is AssetType.VIDEO:
        width, height = validate_video(path, fmt, max_image_pixels)
    elif asset_type is AssetType.AUDIO:
        validate_audio(path, fmt)
        mime = "audio/mp4" if fmt == "mp4" else mime  # an MPEG-4 brand holding only audio
    elif asset_type is AssetType.FONT:
        validate_font(path)
    return Inspection(asset_type, mime, extension, width, height)


def inspect_upload(path: Path, filename: str, *, max_image_pixels: int) -> Inspection:
    """Decide what an uploaded file is, or refuse it.

    UnsupportedMediaType (415): extension not allowed, empty or unrecognisable content, a
    foreign format (PDF, ZIP, HTML, FITS…). InvalidInput (422): content and extension
    disagree, corrupt or truncated files, images over `max_image_pixels` (checked from the
    header before decoding), unsafe SVG, malformed JSON.
    """
    classified = classify_extension(filename)
    if classified is None:
        # Echo only a short, plain part of a possibly hostile name.
        shown = "".join(c for c in extension_of(filename) if c.isascii() and c.isalnum())
        shown = shown[:16] or "(none)"
        raise UnsupportedMediaType(f"file extension .{shown} is not accepted")
    asset_type, extension = classified
    head, size = _read_head(path)
    if size == 0:
        raise UnsupportedMediaType("the file is empty")
    if asset_type is AssetType.TEXT:
        return _inspect_text(path, extension, head, size)
    if asset_type is AssetType.LOGO:
        return _inspect_svg(path, extension, head)
    if size < _MIN_BINARY_BYTES:
        raise UnsupportedMediaType(f"{size}-byte file cannot be a .{extension} file")
    return _inspect_binary(path, asset_type, extension, head, max_image_pixels)
