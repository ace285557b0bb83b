"""Analysis of an accepted asset: technical metadata, previews, pHash, image to embed."""

from __future__ import annotations

import logging
from pathlib import Path

from assetlens.domain import AssetType, MediaInfo
from assetlens.media.audio import analyse_audio
from assetlens.media.fonts import analyse_font
from assetlens.media.images import PIL_FORMATS, analyse_image
from assetlens.media.results import Analysis
from assetlens.media.svg import analyse_svg
from assetlens.media.text import analyse_text
from assetlens.media.types import format_of_mime
from assetlens.media.video import analyse_video

log = logging.getLogger(__name__)

_VIDEO_FORMATS = frozenset({"mp4", "mov", "webm"})
_AUDIO_FORMATS = frozenset({"mp3", "wav", "m4a", "flac", "ogg"})
_FONT_FORMATS = frozenset({"ttf", "otf", "woff", "woff2"})
_TEXT_FORMATS = frozenset({"txt", "md", "json"})


def _dispatch(path: Path, fmt: str) -> Analysis:
    if fmt in PIL_FORMATS:
        return analyse_image(path, fmt)
    if fmt in _VIDEO_FORMATS:
        return analyse_video(path, fmt)
    if fmt in _AUDIO_FORMATS:
        return analyse_audio(path, fmt)
    if fmt in _FONT_FORMATS:
        return analyse_font(path, fmt)
    if fmt == "svg":
        return analyse_svg(path)
    if fmt in _TEXT_FORMATS:
        return analyse_text(path, fmt)
    return Analysis(media=MediaInfo(format=fmt))


def analyse(path: Path, asset_type: AssetType, mime: str) -> Analysis:
    """Metadata, previews ("small"/"medium" WebP), pHash and the RGB image to embed.

    `mime` is the sniffed mime stored at upload; it, not `asset_type` (a PNG may be filed as
    a logo), picks the decoder. Files that fail to decode yield what was learnt (at least the
    format) and no previews: this never raises for bad media.
    """
    fmt = format_of_mime(mime)
    if fmt is None:
        log.warning("no analyser for mime %r (asset type %s)", mime, asset_type)
        return Analysis(media=MediaInfo())
    try:
        return _dispatch(path, fmt)
    except Exception:
        log.warning("could not analyse a %s file", fmt, exc_info=True)
        return Analysis(media=MediaInfo(format=fmt))
