"""WebP previews and the small drawing helpers behind previews of non-image assets."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Final

from PIL import Image, ImageDraw, ImageFont

#: Preview name → longest side in pixels.
PREVIEW_SIZES: Final = {"small": 150, "medium": 600}
# Chosen by measurement (benchmarks/bench_previews.py, docs/BENCHMARKS.md): method 2 costs
# well under half the CPU of method 4 for about 2 % more bytes and 0.1 dB less PSNR.
_WEBP_QUALITY: Final = 80
_WEBP_METHOD: Final = 2
_ALPHA_MODES: Final = frozenset({"RGBA", "LA", "PA", "La", "RGBa"})
_HIGH_DEPTH_MODES: Final = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
BACKGROUND: Final = (255, 255, 255)


def has_alpha(im: Image.Image) -> bool:
    """True when the image carries transparency (an alpha band or a transparent colour)."""
    return im.mode in _ALPHA_MODES or "transparency" in im.info


def display_mode(im: Image.Image) -> Image.Image:
    """`im` as RGB, or RGBA when it has transparency; high bit depths scaled, not clipped."""
    if im.mode in _HIGH_DEPTH_MODES:
        # 16-bit greyscale would clip to white when converted straight to 8 bits.
        scale = 1 / 256 if im.mode != "F" else 255.0
        im = im.convert("F").point(lambda v: v * scale).convert("L")
    if has_alpha(im):
        return im if im.mode == "RGBA" else im.convert("RGBA")
    return im if im.mode == "RGB" else im.convert("RGB")


def flatten(im: Image.Image) -> Image.Image:
    """An RGB copy of `im` with any transparency composited onto white."""
    shown = display_mode(im)
    if shown.mode == "RGB":
        return shown
    canvas = Image.new("RGB", shown.size, BACKGROUND)
    canvas.paste(shown, mask=shown.getchannel("A"))
    return canvas


def fit(
    im: Image.Image, longest: int, resample: Image.Resampling = Image.Resampling.LANCZOS
) -> Image.Image:
    """`im` scaled down so that its longest side is at most `longest` (never scaled up)."""
    w, h = im.size
    if max(w, h) <= longest:
        return im
    ratio = longest / max(w, h)
    size = (max(1, round(w * ratio)), max(1, round(h * ratio)))
    return im.resize(size, resample, reducing_gap=3.0)


def fit_short_side(im: Image.Image, shortest: int) -> Image.Image:
    """`im` scaled down so that its shortest side is at most `shortest` (never scaled up)."""
    w, h = im.size
    if min(w, h) <= shortest:
        return im
    ratio = shortest / min(w, h)
    size = (max(1, round(w * ratio)), max(1, round(h * ratio)))
    return im.resize(size, Image.Resampling.BICUBIC, reducing_gap=3.0)


def encode_webp(im: Image.Image) -> bytes:
    """`im` (RGB or RGBA) as lossy WebP bytes."""
    buf = io.BytesIO()
    im.save(buf, format="WEBP", quality=_WEBP_QUALITY, method=_WEBP_METHOD)
    return buf.getvalue()


def webp_previews(im: Image.Image, smaller: Image.Image | None = None) -> dict[str, bytes]:
    """The "small" and "medium" WebP previews of `im`, keeping transparency. `smaller`: the
    same picture already scaled down (in `im`'s display mode, still at least as big as the
    small preview), to scale the small preview from at a fraction of the cost."""
    shown = display_mode(im)
    medium = fit(shown, PREVIEW_SIZES["medium"])
    small = fit(medium if smaller is None else smaller, PREVIEW_SIZES["small"])
    return {"small": encode_webp(small), "medium": encode_webp(medium)}


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font at `size` px (a bitmap fallback when FreeType is missing)."""
    return ImageFont.load_default(size=size)


def card(
    lines: Sequence[str],
    *,
    size: tuple[int, int] = (1200, 800),
    title: str | None = None,
    background: tuple[int, int, int] = (246, 246, 244),
) -> Image.Image:
    """A plain card with an optional title and a few lines of text (text and placeholders)."""
    im = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(im)
    y = 40
    if title:
        draw.text((48, y), title, fill=(40, 40, 40), font=font(64))
        y += 100
    body = font(32)
    for line in lines:
        if y > size[1] - 60:
            break
        draw.text((48, y), line, fill=(70, 70, 70), font=body)
        y += 44
    return im


def placeholder(label: str) -> Image.Image:
    """A neutral card naming the asset kind, for assets that cannot be drawn safely."""
    im = Image.new("RGB", (800, 800), (232, 232, 236))
    draw = ImageDraw.Draw(im)
    draw.rectangle((40, 40, 759, 759), outline=(180, 180, 190), width=8)
    draw.text((400, 400), label, fill=(110, 110, 120), font=font(120), anchor="mm")
    return im
