"""Shared PyAV (FFmpeg) plumbing for video and audio: safe opening and validation."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import av

from assetlens.errors import InvalidInput

#: Format key → the one FFmpeg demuxer allowed to read it. Forcing the demuxer keeps FFmpeg
#: from probing its way into playlist or concat demuxers (HLS with file:// entries etc.).
DEMUXERS: Final = {
    "mp4": "mp4",
    "mov": "mov",
    "m4a": "mp4",
    "webm": "webm",
    "mp3": "mp3",
    "wav": "wav",
    "flac": "flac",
    "ogg": "ogg",
    "ogg-opus": "ogg",
    "ogg-vorbis": "ogg",
    "ogg-flac": "ogg",
}
#: Codecs each audio format may carry (FFmpeg decoder names).
AUDIO_CODECS: Final = {
    "mp3": frozenset({"mp3", "mp3float"}),
    "flac": frozenset({"flac"}),
    "ogg-opus": frozenset({"opus", "libopus"}),
    "ogg-vorbis": frozenset({"vorbis", "libvorbis"}),
    "ogg-flac": frozenset({"flac"}),
    "m4a": frozenset({"aac", "alac", "mp3", "mp3float", "opus", "flac"}),
    "mp4": frozenset({"aac", "alac", "mp3", "mp3float", "opus", "flac"}),
}
#: Longest duration taken as plausible (a week); anything else is a corrupt header.
MAX_DURATION_SECONDS: Final = 7 * 24 * 3600.0
_MAX_PACKETS_TO_FIRST_FRAME: Final = 500
# FFmpeg options: read local files only, never follow external references.
_OPEN_OPTIONS: Final = {"protocol_whitelist": "file", "enable_drefs": "0"}


@contextmanager
def open_media(path: Path, fmt: str) -> Iterator[Any]:
    """Open `path` with the demuxer for `fmt` only; yields a PyAV input container."""
    container = av.open(
        str(path),
        mode="r",
        format=DEMUXERS[fmt],
        options=dict(_OPEN_OPTIONS),
        metadata_errors="replace",
    )
    try:
        yield container
    finally:
        container.close()


def video_streams(container: Any) -> list[Any]:
    """Real video streams (cover art attached to audio files excluded)."""
    attached = av.stream.Disposition.attached_pic
    return [s for s in container.streams.video if not s.disposition & attached]


def duration_of(container: Any, stream: Any) -> float | None:
    """Seconds, from the stream when it knows, else from the container; None if unknown."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / av.time_base
    return None


def check_duration(seconds: float | None) -> None:
    """Reject durations no real file has (negative, NaN, absurdly long)."""
    if seconds is None:
        return  # live-recorded WebM (MediaRecorder) has none: allowed, computed later
    if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_DURATION_SECONDS:
        raise InvalidInput(f"implausible duration: {seconds}")


def first_frame(container: Any, stream: Any) -> Any:
    """Decode the first frame of `stream`; InvalidInput when none comes in a few packets."""
    for count, packet in enumerate(container.demux(stream)):
        for frame in packet.decode():
            return frame
        if count >= _MAX_PACKETS_TO_FIRST_FRAME:
            break
    raise InvalidInput("no decodable frame: corrupt or truncated media")


def check_pixels(width: int, height: int, max_pixels: int) -> None:
    """Reject video frames over the pixel limit (checked before decoding)."""
    if width * height > max_pixels:
        raise InvalidInput(
            f"video too large: {width}×{height} pixels exceeds limit of {max_pixels:,} pixels"
        )


def validate_video(path: Path, fmt: str, max_pixels: int) -> tuple[int, int]:
    """Open, size-check and decode one frame of the main video stream; returns (w, h)."""
    try:
        with open_media(path, fmt) as container:
            streams = video_streams(container)
            if not streams:
                raise InvalidInput("no video stream in the file")
            stream = streams[0]
            ctx = stream.codec_context
            check_pixels(ctx.width, ctx.height, max_pixels)
            check_duration(duration_of(container, stream))
            frame = first_frame(container, stream)
            check_pixels(frame.width, frame.height, max_pixels)
            return frame.width, frame.height
    except InvalidInput:
        raise
    except Exception as exc:
        raise InvalidInput(f"corrupt or truncated {fmt} video") from exc


def validate_audio(path: Path, fmt: str) -> None:
    """Open and decode one frame of the audio stream; reject files that are really video."""
    try:
        with open_media(path, fmt) as container:
            if not container.streams.audio:
                raise InvalidInput("no audio stream in the file")
            if video_streams(container):
                raise InvalidInput("the file holds video: upload it with a video extension")
            stream = container.streams.audio[0]
            allowed = AUDIO_CODECS.get(fmt)
            if allowed is not None and stream.codec_context.name not in allowed:
                raise InvalidInput(
                    f"{stream.codec_context.name} audio does not belong in a {fmt} file"
                )
            check_duration(duration_of(container, stream))
            first_frame(container, stream)
    except InvalidInput:
        raise
    except Exception as exc:
        raise InvalidInput(f"corrupt or truncated {fmt} audio") from exc
