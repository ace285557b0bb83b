"""Video (MP4, QuickTime, WebM): metadata and a poster frame at 25 % of the duration."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Final

from PIL import Image

from assetlens.domain import MediaInfo
from assetlens.media.avmedia import duration_of, open_media, video_streams
from assetlens.media.images import EMBED_MAX_SIDE, visual_analysis
from assetlens.media.previews import fit
from assetlens.media.results import Analysis

log = logging.getLogger(__name__)

#: Where in the video the poster frame is taken, as a fraction of its duration.
POSTER_AT: Final = 0.25
# Frames decoded forward from the keyframe before the poster time, at most.
_MAX_FRAMES_AFTER_SEEK: Final = 900


def _fps(stream: Any) -> float | None:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return round(float(rate), 3) if rate else None


def video_info(container: Any, stream: Any, fmt: str) -> MediaInfo:
    """Duration, size, frame rate, codec, audio presence and bitrate of the main stream."""
    ctx = stream.codec_context
    duration = duration_of(container, stream)
    bitrate = container.bit_rate or stream.bit_rate
    return MediaInfo(
        format=fmt,
        duration=round(duration, 3) if duration is not None else None,
        width=ctx.width or None,
        height=ctx.height or None,
        fps=_fps(stream),
        codec=ctx.name,
        has_audio=bool(container.streams.audio),
        bitrate=int(bitrate) if bitrate else None,
    )


def _frame_image(frame: Any) -> Image.Image:
    im: Image.Image = frame.to_image()
    rotation = getattr(frame, "rotation", 0) or 0
    if rotation:
        # The display matrix rotates counter-clockwise, as PIL's rotate does.
        im = im.rotate(rotation, expand=True)
    return im


def poster_frame(container: Any, stream: Any, at: float) -> Image.Image | None:
    """The first frame shown at or after `at` seconds (the last decoded one if none)."""
    if at > 0 and stream.time_base is not None:
        try:
            container.seek(int(at / stream.time_base), stream=stream, backward=True)
        except Exception:
            log.info("seek failed; taking the poster from the start", exc_info=True)
            container.seek(0)
    chosen = None
    for count, frame in enumerate(container.decode(stream)):
        chosen = frame
        if frame.time is None or frame.time >= at - 1e-3 or count >= _MAX_FRAMES_AFTER_SEEK:
            break
    return _frame_image(chosen) if chosen is not None else None


def analyse_video(path: Path, fmt: str) -> Analysis:
    """Metadata, and previews, pHash and embed image from the poster frame."""
    with open_media(path, fmt) as container:
        streams = video_streams(container)
        if not streams:
            return Analysis(media=MediaInfo(format=fmt, has_audio=bool(container.streams.audio)))
        stream = streams[0]
        stream.thread_type = "AUTO"
        media = video_info(container, stream, fmt)
        try:
            poster = poster_frame(container, stream, (media.duration or 0.0) * POSTER_AT)
        except Exception:
            log.warning("no poster frame for a %s video", fmt, exc_info=True)
            poster = None
    if poster is None:
        return Analysis(media=media)
    return visual_analysis(media, fit(poster, EMBED_MAX_SIDE))
