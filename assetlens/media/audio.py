"""Audio (MP3, WAV, M4A, FLAC, Ogg): metadata, tags and a waveform preview."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import av
import numpy as np
from PIL import Image, ImageDraw

from assetlens.domain import MediaInfo
from assetlens.media.avmedia import duration_of, open_media
from assetlens.media.previews import PREVIEW_SIZES, encode_webp
from assetlens.media.results import Analysis

log = logging.getLogger(__name__)

#: Audio decoded for the waveform, at most (bounds the time spent on long files).
MAX_WAVEFORM_SECONDS: Final = 1800.0
# Peaks are kept per 10 ms block while decoding, so memory does not grow with the rate.
_BLOCKS_PER_SECOND: Final = 100
# Container bookkeeping that is not a tag a person wrote.
_TECHNICAL_TAGS: Final = frozenset(
    {
        "encoder",
        "encoded_by",
        "major_brand",
        "minor_version",
        "compatible_brands",
        "handler_name",
        "vendor_id",
        "creation_time",
        "duration",
    }
)
_MAX_TAGS: Final = 32
_MAX_BAD_PACKETS: Final = 100
_MAX_TAG_CHARS: Final = 500
_WAVE_BG: Final = (247, 247, 250)
_WAVE_FG: Final = (64, 96, 200)


def _tags(container: Any, stream: Any) -> dict[str, str]:
    merged = {**dict(stream.metadata), **dict(container.metadata)}
    tags: dict[str, str] = {}
    for key, value in merged.items():
        name = str(key).strip().lower()[:64]
        if not name or name in _TECHNICAL_TAGS or str(value).strip() in ("", "und"):
            continue
        tags[name] = str(value).strip()[:_MAX_TAG_CHARS]
        if len(tags) >= _MAX_TAGS:
            break
    return tags


def audio_info(container: Any, stream: Any, fmt: str) -> MediaInfo:
    """Duration, sample rate, channels, bitrate, codec and tags of the audio stream."""
    ctx = stream.codec_context
    duration = duration_of(container, stream)
    bitrate = stream.bit_rate or container.bit_rate
    return MediaInfo(
        format=fmt,
        duration=round(duration, 3) if duration is not None else None,
        sample_rate=ctx.sample_rate or None,
        channels=ctx.layout.nb_channels if ctx.layout is not None else None,
        bitrate=int(bitrate) if bitrate else None,
        codec=ctx.name,
        tags=_tags(container, stream),
    )


def _frames(container: Any, stream: Any) -> Iterator[Any]:
    """Decoded frames, skipping packets the decoder rejects (a damaged stretch of a file
    should not cost the whole waveform), up to a bounded number of failures."""
    failures = 0
    for packet in container.demux(stream):
        try:
            yield from packet.decode()
        except av.error.InvalidDataError:
            failures += 1
            if failures > _MAX_BAD_PACKETS:
                raise


def peaks(container: Any, stream: Any) -> np.ndarray:
    """Peak amplitude (0..1) of the mono mix per 10 ms block, from the start of the file."""
    resampler = av.AudioResampler(format="flt", layout="mono")
    rate = stream.codec_context.sample_rate or 48_000
    block = max(1, rate // _BLOCKS_PER_SECOND)
    limit = int(MAX_WAVEFORM_SECONDS * rate)
    pending = np.zeros(0, dtype=np.float32)
    found: list[np.ndarray] = []
    decoded = 0
    for frame in _frames(container, stream):
        for mono in resampler.resample(frame):
            samples = np.abs(mono.to_ndarray().reshape(-1))
            pending = np.concatenate((pending, samples))
            usable = len(pending) - len(pending) % block
            if usable:
                found.append(pending[:usable].reshape(-1, block).max(axis=1))
                pending = pending[usable:]
            decoded += len(samples)
        if decoded >= limit:
            break
    if len(pending):
        found.append(np.array([pending.max()], dtype=np.float32))
    if not found:
        return np.zeros(0, dtype=np.float32)
    levels: np.ndarray = np.clip(np.concatenate(found), 0.0, 1.0)
    return levels


def waveform(levels: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """`levels` drawn as a symmetric bar waveform filling `size`."""
    width, height = size
    im = Image.new("RGB", size, _WAVE_BG)
    draw = ImageDraw.Draw(im)
    middle = height / 2
    draw.line((0, middle, width, middle), fill=(200, 200, 210))
    if len(levels) == 0:
        return im
    columns = [chunk.max() for chunk in np.array_split(levels, min(width, len(levels)))]
    step = width / len(columns)
    for i, level in enumerate(columns):
        half = max(0.5, float(level) * (middle - 2))
        x = i * step
        draw.rectangle((x, middle - half, x + max(step - 1, 0.5), middle + half), fill=_WAVE_FG)
    return im


def waveform_previews(levels: np.ndarray) -> dict[str, bytes]:
    """Waveform images as WebP: 150×50 "small" and 600×200 "medium"."""
    return {
        name: encode_webp(waveform(levels, (side, side // 3)))
        for name, side in PREVIEW_SIZES.items()
    }


def analyse_audio(path: Path, fmt: str) -> Analysis:
    """Metadata, tags and waveform previews (nothing to hash or embed)."""
    with open_media(path, fmt) as container:
        if not container.streams.audio:
            return Analysis(media=MediaInfo(format=fmt))
        stream = container.streams.audio[0]
        media = audio_info(container, stream, fmt)
        try:
            levels = peaks(container, stream)
        except Exception:
            log.warning("no waveform for a %s file", fmt, exc_info=True)
            return Analysis(media=media)
    return Analysis(media=media, previews=waveform_previews(levels))
