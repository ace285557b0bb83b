"""The allow-list: which file extensions Assetlens accepts, their asset types and mimes."""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from PIL import features

from assetlens.domain import AssetType


def _avif_supported() -> bool:
    # Pillow only decodes AVIF when it was built with libavif; without a decoder we cannot
    # validate the file, so the extension is not accepted at all.
    try:
        return bool(features.check("avif"))
    except Exception:
        return False


_TYPES: dict[str, AssetType] = {
    "jpg": AssetType.IMAGE,
    "jpeg": AssetType.IMAGE,
    "png": AssetType.IMAGE,
    "webp": AssetType.IMAGE,
    "gif": AssetType.IMAGE,
    "mp4": AssetType.VIDEO,
    "mov": AssetType.VIDEO,
    "webm": AssetType.VIDEO,
    "mp3": AssetType.AUDIO,
    "wav": AssetType.AUDIO,
    "m4a": AssetType.AUDIO,
    "flac": AssetType.AUDIO,
    "ogg": AssetType.AUDIO,
    "opus": AssetType.AUDIO,
    "ttf": AssetType.FONT,
    "otf": AssetType.FONT,
    "woff": AssetType.FONT,
    "woff2": AssetType.FONT,
    "svg": AssetType.LOGO,
    "txt": AssetType.TEXT,
    "md": AssetType.TEXT,
    "markdown": AssetType.TEXT,
    "json": AssetType.TEXT,
}
if _avif_supported():
    _TYPES["avif"] = AssetType.IMAGE

#: Every accepted extension (lower case, no dot) and the asset type it maps to.
TYPE_BY_EXTENSION: Final = MappingProxyType(_TYPES)
ALLOWED_EXTENSIONS: Final = frozenset(_TYPES)

#: The mime an extension suggests. The mime actually stored comes from the sniffed content.
MIME_BY_EXTENSION: Final = MappingProxyType(
    {
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "png": "image/png",
        "webp": "image/webp",
        "gif": "image/gif",
        "avif": "image/avif",
        "mp4": "video/mp4",
        "mov": "video/quicktime",
        "webm": "video/webm",
        "mp3": "audio/mpeg",
        "wav": "audio/wav",
        "m4a": "audio/mp4",
        "flac": "audio/flac",
        "ogg": "audio/ogg",
        "opus": "audio/ogg",
        "ttf": "font/ttf",
        "otf": "font/otf",
        "woff": "font/woff",
        "woff2": "font/woff2",
        "svg": "image/svg+xml",
        "txt": "text/plain",
        "md": "text/markdown",
        "markdown": "text/markdown",
        "json": "application/json",
    }
)

#: Mimes that a browser would execute or render as a document: served as attachment
#: with a sandboxing CSP.
_ACTIVE_MIMES: Final = frozenset(
    {
        "image/svg+xml",
        "text/html",
        "application/xhtml+xml",
        "application/xml",
        "text/xml",
        "application/javascript",
        "text/javascript",
        "application/ecmascript",
        "text/ecmascript",
        "application/pdf",
        "application/x-shockwave-flash",
        "text/xsl",
        "application/xslt+xml",
    }
)


def extension_of(filename: str) -> str:
    """The lower-case extension of `filename` without the dot ('' when it has none)."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    if "." not in base:
        return ""
    return base.rsplit(".", 1)[-1].strip().lower()


def classify_extension(filename: str) -> tuple[AssetType, str] | None:
    """(asset type, lower-case extension) for an allowed filename, else None.

    A `.png` classifies as an image; the caller may still file it as a logo.
    """
    ext = extension_of(filename)
    asset_type = TYPE_BY_EXTENSION.get(ext)
    if asset_type is None:
        return None
    return asset_type, ext


def is_active_content(mime: str) -> bool:
    """True when a browser could run script or render a document from this mime."""
    base = mime.split(";", 1)[0].strip().lower()
    return base in _ACTIVE_MIMES or base.endswith("+xml")


#: Which sniffed formats (see `sniff`) each extension accepts. ISO-BMFF brands and sfnt
#: flavours are not used consistently by encoders, so close relatives are accepted.
COMPATIBLE_FORMATS: Final = MappingProxyType(
    {
        "jpg": frozenset({"jpeg"}),
        "jpeg": frozenset({"jpeg"}),
        "png": frozenset({"png"}),
        "webp": frozenset({"webp"}),
        "gif": frozenset({"gif"}),
        "avif": frozenset({"avif"}),
        "mp4": frozenset({"mp4", "mov"}),
        "mov": frozenset({"mov", "mp4"}),
        "webm": frozenset({"webm"}),
        "mp3": frozenset({"mp3"}),
        "wav": frozenset({"wav"}),
        "m4a": frozenset({"m4a", "mp4"}),
        "flac": frozenset({"flac"}),
        "ogg": frozenset({"ogg-opus", "ogg-vorbis", "ogg-flac"}),
        "opus": frozenset({"ogg-opus"}),
        "ttf": frozenset({"ttf", "otf"}),
        "otf": frozenset({"otf", "ttf"}),
        "woff": frozenset({"woff"}),
        "woff2": frozenset({"woff2"}),
        "svg": frozenset({"svg"}),
    }
)

#: Sniffed format → the mime stored and served.
MIME_BY_FORMAT: Final = MappingProxyType(
    {
        "jpeg": "image/jpeg",
        "png": "image/png",
        "webp": "image/webp",
        "gif": "image/gif",
        "avif": "image/avif",
        "mp4": "video/mp4",
        "mov": "video/quicktime",
        "webm": "video/webm",
        "m4a": "audio/mp4",
        "mp3": "audio/mpeg",
        "wav": "audio/wav",
        "flac": "audio/flac",
        "ogg-opus": "audio/ogg",
        "ogg-vorbis": "audio/ogg",
        "ogg-flac": "audio/ogg",
        "ttf": "font/ttf",
        "otf": "font/otf",
        "woff": "font/woff",
        "woff2": "font/woff2",
        "svg": "image/svg+xml",
    }
)

#: Stored mime → the format key analysis works with (also MediaInfo.format).
FORMAT_BY_MIME: Final = MappingProxyType(
    {
        "image/jpeg": "jpeg",
        "image/png": "png",
        "image/webp": "webp",
        "image/gif": "gif",
        "image/avif": "avif",
        "video/mp4": "mp4",
        "video/quicktime": "mov",
        "video/webm": "webm",
        "audio/mp4": "m4a",
        "audio/mpeg": "mp3",
        "audio/wav": "wav",
        "audio/flac": "flac",
        "audio/ogg": "ogg",
        "font/ttf": "ttf",
        "font/otf": "otf",
        "font/woff": "woff",
        "font/woff2": "woff2",
        "image/svg+xml": "svg",
        "text/plain": "txt",
        "text/markdown": "md",
        "application/json": "json",
    }
)


#: Every media type a stored file can have, so every Content-Type its bytes are served with.
STORED_MIMES: Final = frozenset(FORMAT_BY_MIME)


def format_of_mime(mime: str) -> str | None:
    """The analysis format key of a stored mime (parameters ignored), None if unknown."""
    return FORMAT_BY_MIME.get(mime.split(";", 1)[0].strip().lower())
