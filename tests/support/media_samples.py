"""Sample media of every accepted type, generated in memory (no fixtures on disk).

Usable from tests and from the demo: each function returns the file's bytes. Video and
audio are encoded with PyAV's bundled FFmpeg, fonts are built with fontTools.
"""

from __future__ import annotations

import colorsys
import io
import json
import math
import struct
import wave
import zlib
from collections.abc import Callable
from fractions import Fraction

import av
import numpy as np
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.t2CharStringPen import T2CharStringPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw

# --------------------------------------------------------------------------- images


def gradient_image(size: tuple[int, int] = (320, 240), seed: int = 0) -> Image.Image:
    """A deterministic, textured RGB picture (gradients plus a few shapes)."""
    w, h = size
    x = np.linspace(0, 1, w)[None, :]
    y = np.linspace(0, 1, h)[:, None]
    phase = seed * 0.7
    r = 127 + 120 * np.sin(6 * x + phase) * np.cos(3 * y)
    g = 127 + 120 * np.cos(5 * y + phase)
    b = 255 * x * y
    arr = np.stack(np.broadcast_arrays(r, g, b), axis=-1).clip(0, 255).astype(np.uint8)
    im = Image.fromarray(arr, "RGB")
    draw = ImageDraw.Draw(im)
    draw.ellipse((w * 0.55, h * 0.15, w * 0.9, h * 0.6), fill=(250, 240, 30))
    draw.rectangle((w * 0.1, h * 0.6, w * 0.4, h * 0.9), fill=(20, 30, 200))
    return im


def encode_image(im: Image.Image, fmt: str, **params: object) -> bytes:
    """`im` encoded by Pillow in `fmt` (JPEG, PNG, WEBP, GIF, AVIF)."""
    buf = io.BytesIO()
    im.save(buf, format=fmt, **params)
    return buf.getvalue()


def png_bytes(size: tuple[int, int] = (320, 240), seed: int = 0) -> bytes:
    return encode_image(gradient_image(size, seed), "PNG")


def png_rgba_bytes(size: tuple[int, int] = (200, 100)) -> bytes:
    """A PNG with an alpha channel: a red disc on a transparent background."""
    im = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(im).ellipse((10, 10, size[0] - 10, size[1] - 10), fill=(220, 20, 20, 255))
    return encode_image(im, "PNG")


def jpeg_bytes(
    size: tuple[int, int] = (320, 240), seed: int = 0, orientation: int | None = None
) -> bytes:
    """A JPEG; with `orientation` it carries that EXIF orientation tag (pixels unchanged)."""
    im = gradient_image(size, seed)
    if orientation is None:
        return encode_image(im, "JPEG", quality=90)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode_image(im, "JPEG", quality=90, exif=exif.tobytes())


def marked_jpeg_bytes(orientation: int) -> bytes:
    """A 300×100 JPEG, red on its left third, with an EXIF orientation tag.

    Orientation 6 means "rotate 90° clockwise to display": upright it is 100×300 with the
    red part at the top.
    """
    im = Image.new("RGB", (300, 100), (255, 255, 255))
    ImageDraw.Draw(im).rectangle((0, 0, 99, 99), fill=(255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode_image(im, "JPEG", quality=95, exif=exif.tobytes())


def webp_bytes(size: tuple[int, int] = (320, 240), seed: int = 0) -> bytes:
    return encode_image(gradient_image(size, seed), "WEBP", quality=85)


def gif_bytes(frames: int = 4, size: tuple[int, int] = (120, 90)) -> bytes:
    """An animated GIF whose first frame is pure red and later frames blue/green."""
    colours = [(255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 255, 0)]
    images = [Image.new("RGB", size, colours[i % len(colours)]) for i in range(frames)]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=100)
    return buf.getvalue()


def avif_bytes(size: tuple[int, int] = (160, 120)) -> bytes:
    return encode_image(gradient_image(size), "AVIF", quality=70)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_header_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose valid IHDR (correct CRC) declares width×height pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def png_pixel_flood(width: int = 9000, height: int = 9000, *, rgb: bool = False) -> bytes:
    """A complete, valid 1-bit greyscale PNG (all black) of width×height: small file,
    many pixels. The default 81 Mpx sits under Pillow's limit but over Assetlens' 64 Mpx.
    With `rgb`, 8-bit RGB: the same pixels decode to 3 bytes each (243 MB by default)."""
    row = b"\x00" + b"\x00" * (width * 3 if rgb else (width + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8 if rgb else 1, 2 if rgb else 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


_DEMO_SHAPES = ("circle", "square", "triangle", "stripes", "rings", "diamond", "cross", "dots")


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h, s, v)
    return round(r * 255), round(g * 255), round(b * 255)


def _demo_image(index: int, size: int = 512) -> tuple[str, Image.Image]:
    hue = (index * 0.381966) % 1.0  # golden-ratio steps keep successive hues apart
    fg = _hsv(hue, 0.85, 0.95)
    dark = _hsv((hue + 0.5) % 1.0, 0.5, 0.2)
    light = _hsv((hue + 0.5) % 1.0, 0.3, 0.8)
    shape = _DEMO_SHAPES[index % len(_DEMO_SHAPES)]
    s = size
    # The background is split along a direction that changes with the index, and the shape
    # moves between quadrants: perceptual hashes (which see luminance layout) stay far apart.
    im = Image.new("RGB", (s, s), dark)
    draw = ImageDraw.Draw(im)
    split = (index // len(_DEMO_SHAPES)) % 4
    halves = [(0, 0, s, s // 2), (0, 0, s // 2, s), (0, s // 2, s, s), (s // 2, 0, s, s)]
    draw.rectangle(halves[split], fill=light)
    quadrant = (index + index // len(_DEMO_SHAPES)) % 4
    cx = s // 4 if quadrant in (0, 3) else 3 * s // 4
    cy = s // 4 if quadrant in (0, 1) else 3 * s // 4
    r = s // 5
    box = (cx - r, cy - r, cx + r, cy + r)
    if shape == "circle":
        draw.ellipse(box, fill=fg)
    elif shape == "square":
        draw.rectangle(box, fill=fg)
    elif shape == "triangle":
        draw.polygon([(cx, cy - r), (cx + r, cy + r), (cx - r, cy + r)], fill=fg)
    elif shape == "stripes":
        for x in range(0, s, s // 6):
            draw.rectangle((x, 0, x + s // 14, s), fill=fg)
    elif shape == "rings":
        for rr in range(r * 2, 0, -s // 16):
            draw.ellipse((cx - rr, cy - rr, cx + rr, cy + rr), outline=fg, width=10)
    elif shape == "diamond":
        draw.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], fill=fg)
    elif shape == "cross":
        draw.rectangle((cx - r // 3, cy - r, cx + r // 3, cy + r), fill=fg)
        draw.rectangle((cx - r, cy - r // 3, cx + r, cy + r // 3), fill=fg)
    else:
        for dx in range(-2, 3):
            for dy in range(-2, 3):
                x, y = cx + dx * r // 2, cy + dy * r // 2
                draw.ellipse((x - 12, y - 12, x + 12, y + 12), fill=fg)
    colour = "#{:02x}{:02x}{:02x}".format(*fg)
    return f"{shape}-{colour[1:]}-{index:03d}.png", im


def make_demo_images(n: int, size: int = 512) -> list[tuple[str, bytes]]:
    """`n` visually distinct PNGs as (file name, bytes): varied colours and shapes."""
    out = []
    for i in range(n):
        name, im = _demo_image(i, size)
        out.append((name, encode_image(im, "PNG")))
    return out


# --------------------------------------------------------------------------- video


def _tone(seconds: float, rate: int, freq: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * math.pi * freq * t)).astype(np.float32)


def _encode_video(
    container_format: str,
    codec: str,
    *,
    audio_codec: str | None,
    seconds: float = 2.0,
    fps: int = 10,
    size: tuple[int, int] = (64, 48),
    rotation: int | None = None,
) -> bytes:
    """Frames whose grey level is 12 × frame index, so a frame can be told by its colour."""
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=container_format) as out:
        video = out.add_stream(codec, rate=fps)
        assert isinstance(video, av.VideoStream)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        if rotation is not None:
            video.set_display_rotation(rotation)
        audio: av.AudioStream | None = None
        if audio_codec is not None:
            added = out.add_stream(audio_codec, rate=48_000, layout="mono")
            assert isinstance(added, av.AudioStream)
            audio = added
        frames = round(seconds * fps)
        for i in range(frames):
            level = min(255, i * 12)
            arr = np.full((size[1], size[0], 3), level, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if audio is not None:
            _encode_audio_stream(out, audio, _tone(seconds, 48_000))
    return buf.getvalue()


def _encode_audio_stream(
    out: av.container.OutputContainer, stream: av.AudioStream, pcm: np.ndarray
) -> None:
    rate = stream.rate
    size = stream.codec_context.frame_size or 1024
    fmt = stream.codec_context.format.name
    pts = 0
    for start in range(0, len(pcm), size):
        chunk = pcm[start : start + size]
        if fmt.startswith("s16"):
            data = (chunk * 32767).astype(np.int16)
        elif fmt.startswith("s32"):
            data = (chunk * 2_147_483_647).astype(np.int32)
        else:
            data = chunk
        frame = av.AudioFrame.from_ndarray(data.reshape(1, -1), format=fmt, layout="mono")
        frame.sample_rate = rate
        frame.pts = pts
        pts += len(chunk)
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)


def mp4_bytes(with_audio: bool = True, seconds: float = 2.0, rotation: int | None = None) -> bytes:
    """H.264 (+ AAC) in MP4, 64×48 at 10 fps."""
    return _encode_video(
        "mp4",
        "libx264",
        audio_codec="aac" if with_audio else None,
        seconds=seconds,
        rotation=rotation,
    )


def mov_bytes(with_audio: bool = True) -> bytes:
    """H.264 (+ AAC) in QuickTime."""
    return _encode_video("mov", "libx264", audio_codec="aac" if with_audio else None)


def webm_bytes(with_audio: bool = True) -> bytes:
    """VP9 (+ Opus) in WebM."""
    return _encode_video("webm", "libvpx-vp9", audio_codec="libopus" if with_audio else None)


# --------------------------------------------------------------------------- audio


def wav_bytes(seconds: float = 1.0, rate: int = 8000, channels: int = 1) -> bytes:
    """16-bit PCM WAV: a 440 Hz tone, loud in its second half (quiet first half)."""
    pcm = _tone(seconds, rate)
    half = len(pcm) // 2
    pcm[:half] *= 0.05
    samples = (pcm * 32767).astype("<i2")
    if channels > 1:
        samples = np.repeat(samples, channels)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return buf.getvalue()


def _encode_audio(
    container_format: str,
    codec: str,
    *,
    rate: int,
    seconds: float = 1.0,
    tags: dict[str, str] | None = None,
) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=container_format) as out:
        out.metadata.update(tags or {"title": "Sample tone", "artist": "Assetlens"})
        stream = out.add_stream(codec, rate=rate, layout="mono")
        assert isinstance(stream, av.AudioStream)
        _encode_audio_stream(out, stream, _tone(seconds, rate))
    return buf.getvalue()


def mp3_bytes(seconds: float = 1.0) -> bytes:
    return _encode_audio("mp3", "libmp3lame", rate=44_100, seconds=seconds)


def flac_bytes(seconds: float = 1.0) -> bytes:
    return _encode_audio("flac", "flac", rate=44_100, seconds=seconds)


def ogg_bytes(seconds: float = 1.0) -> bytes:
    """Opus in Ogg."""
    return _encode_audio("ogg", "libopus", rate=48_000, seconds=seconds)


def m4a_bytes(seconds: float = 1.0) -> bytes:
    """AAC in an MPEG-4 audio file (brand M4A)."""
    return _encode_audio("ipod", "aac", rate=44_100, seconds=seconds)


def mp4_audio_only_bytes(seconds: float = 1.0) -> bytes:
    """AAC in a plain MP4 (brand isom, no video): valid as .m4a, not as .mp4."""
    return _encode_audio("mp4", "aac", rate=44_100, seconds=seconds)


# --------------------------------------------------------------------------- fonts

FONT_FAMILY = "Assetlens Sample"
_FONT_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.,!?'-"


def _glyph_name(ch: str) -> str:
    return f"uni{ord(ch):04X}"


def _box(pen: TTGlyphPen | T2CharStringPen, index: int) -> None:
    # Distinct outlines per glyph: a box whose height and inset vary with the index.
    top = 300 + (index * 37) % 400
    inset = 40 + (index * 13) % 60
    pen.moveTo((inset, 0))
    pen.lineTo((inset, top))
    pen.lineTo((500 - inset, top))
    pen.lineTo((500 - inset, 0))
    pen.closePath()


def _font_builder(cff: bool, style: str, weight: int) -> FontBuilder:
    chars = list(_FONT_CHARS)
    order = [".notdef", "space", *[_glyph_name(c) for c in chars]]
    fb = FontBuilder(1000, isTTF=not cff)
    fb.setupGlyphOrder(order)
    cmap = {ord(" "): "space", **{ord(c): _glyph_name(c) for c in chars}}
    fb.setupCharacterMap(cmap)
    if cff:
        charstrings = {}
        for i, name in enumerate(order):
            pen = T2CharStringPen(600, None)
            if name not in (".notdef", "space"):
                _box(pen, i)
            charstrings[name] = pen.getCharString()
        fb.setupCFF(
            f"{FONT_FAMILY.replace(' ', '')}-{style}", {"FullName": FONT_FAMILY}, charstrings, {}
        )
    else:
        glyphs = {}
        for i, name in enumerate(order):
            pen = TTGlyphPen(None)
            if name not in (".notdef", "space"):
                _box(pen, i)
            glyphs[name] = pen.glyph()
        fb.setupGlyf(glyphs)
    fb.setupHorizontalMetrics({name: (600, 40) for name in order})
    fb.setupHorizontalHeader(ascent=800, descent=-200)
    fb.setupNameTable({"familyName": FONT_FAMILY, "styleName": style})
    fb.setupOS2(
        usWeightClass=weight,
        sTypoAscender=800,
        sTypoDescender=-200,
        usWinAscent=800,
        usWinDescent=200,
    )
    fb.setupPost()
    return fb


def _save_font(fb: FontBuilder, flavor: str | None = None) -> bytes:
    buf = io.BytesIO()
    if flavor is None:
        fb.save(buf)
        return buf.getvalue()
    fb.save(buf)
    font = TTFont(io.BytesIO(buf.getvalue()))
    font.flavor = flavor
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def ttf_bytes(style: str = "Regular", weight: int = 400) -> bytes:
    """A TrueType-outline font covering ASCII letters and digits."""
    return _save_font(_font_builder(cff=False, style=style, weight=weight))


def otf_bytes(style: str = "Bold", weight: int = 700) -> bytes:
    """A CFF-outline OpenType font covering ASCII letters and digits."""
    return _save_font(_font_builder(cff=True, style=style, weight=weight))


def woff_bytes() -> bytes:
    return _save_font(_font_builder(cff=False, style="Regular", weight=400), "woff")


def woff2_bytes() -> bytes:
    return _save_font(_font_builder(cff=False, style="Italic", weight=400), "woff2")


# --------------------------------------------------------------------------- logo and text


def svg_bytes() -> bytes:
    return (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" '
        b'viewBox="0 0 200 100"><rect width="200" height="100" fill="#1040c0"/>'
        b'<circle cx="100" cy="50" r="35" fill="#f0d020"/></svg>'
    )


def svg_hostile_bytes(canary_url: str = "http://127.0.0.1:9/canary") -> bytes:
    """An SVG carrying every active-content trick: script, handlers, foreignObject,
    javascript: links and external references. It still draws a blue square."""
    return f"""<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     width="100" height="100" onload="alert(1)">
  <script>alert(document.cookie)</script>
  <script xlink:href="{canary_url}/script.js"/>
  <rect width="100" height="100" fill="#0000ff" onclick="alert(2)"/>
  <a xlink:href="javascript:alert(3)"><text x="10" y="20">x</text></a>
  <foreignObject width="100" height="100">
    <iframe xmlns="http://www.w3.org/1999/xhtml" src="{canary_url}/frame"/>
  </foreignObject>
  <image href="{canary_url}/image.png" width="50" height="50"/>
  <image xlink:href="file:///etc/passwd" width="50" height="50"/>
  <use href="{canary_url}/sprite.svg#icon"/>
  <style>@import url("{canary_url}/style.css");</style>
</svg>""".encode()


def svg_billion_laughs() -> bytes:
    lol = "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    return (
        '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY lol0 "lol">' + lol + "]>"
        '<svg xmlns="http://www.w3.org/2000/svg"><text>&lol9;</text></svg>'
    ).encode()


def gif_header_bomb() -> bytes:
    """A GIF whose logical screen and image descriptor both declare 65535×65535."""
    return (
        b"GIF89a\xff\xff\xff\xff\x00\x00\x00"
        b",\x00\x00\x00\x00\xff\xff\xff\xff\x00\x02\x02\x44\x01\x00;"
    )


def json_depth_bomb(depth: int = 100_000) -> bytes:
    """A `.json` text nested `depth` arrays deep."""
    return b"[" * depth + b"]" * depth


#: The decompression bombs SECURITY.md row 1 lists, as (file name, bytes maker), keyed by a
#: short description: the API tests and benchmarks/bench_bomb_refusal.py send them all.
BOMBS: dict[str, tuple[str, Callable[[], bytes]]] = {
    "png-100k-by-100k": ("bomb.png", lambda: png_header_bomb()),
    "png-rgb-pixel-flood": ("flood.png", lambda: png_pixel_flood(rgb=True)),
    "gif-65535-square": ("bomb.gif", gif_header_bomb),
    "svg-billion-laughs": ("laughs.svg", svg_billion_laughs),
    "json-100k-deep": ("deep.json", json_depth_bomb),
}


def svg_external_entity() -> bytes:
    return (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg"><text>&xxe;</text></svg>'
    )


def txt_bytes() -> bytes:
    return "A lighthouse at dusk, volumetric fog, 35mm, golden hour — café.\n".encode()


def md_bytes() -> bytes:
    return b"# Prompt\n\n*A red fox* in the snow, `seed 42`.\n\n- model: sdxl\n"


def json_bytes() -> bytes:
    payload = {"prompt": "a red fox in the snow", "seed": 42, "steps": 30, "tags": ["fox"]}
    return json.dumps(payload).encode()


# --------------------------------------------------------------------------- catalogue

#: One sample per accepted extension: file name → factory.
SAMPLES: dict[str, Callable[[], bytes]] = {
    "photo.jpg": jpeg_bytes,
    "photo.jpeg": jpeg_bytes,
    "picture.png": png_bytes,
    "picture.webp": webp_bytes,
    "anim.gif": gif_bytes,
    "picture.avif": avif_bytes,
    "clip.mp4": mp4_bytes,
    "clip.mov": mov_bytes,
    "clip.webm": webm_bytes,
    "tone.mp3": mp3_bytes,
    "tone.wav": wav_bytes,
    "tone.m4a": m4a_bytes,
    "tone.flac": flac_bytes,
    "tone.ogg": ogg_bytes,
    "font.ttf": ttf_bytes,
    "font.otf": otf_bytes,
    "font.woff": woff_bytes,
    "font.woff2": woff2_bytes,
    "logo.svg": svg_bytes,
    "prompt.txt": txt_bytes,
    "prompt.md": md_bytes,
    "prompt.json": json_bytes,
}


def all_samples() -> dict[str, bytes]:
    """Every sample, keyed by a file name with the right extension."""
    return {name: make() for name, make in SAMPLES.items()}
