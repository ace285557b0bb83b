"""Raster images (JPEG, PNG, WebP, GIF, AVIF): validation, metadata and previews."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Final

from PIL import Image, ImageOps

from assetlens.domain import MediaInfo
from assetlens.errors import InvalidInput
from assetlens.media.phash import perceptual_hash
from assetlens.media.pngcheck import check_png
from assetlens.media.previews import (
    PREVIEW_SIZES,
    display_mode,
    fit,
    fit_short_side,
    flatten,
    has_alpha,
    webp_previews,
)
from assetlens.media.results import Analysis
from assetlens.provenance.stealth import StealthRead, read_stealth

#: Sniffed format key → the one Pillow plugin allowed to open it.
PIL_FORMATS: Final = {
    "jpeg": "JPEG",
    "png": "PNG",
    "gif": "GIF",
    "webp": "WEBP",
    "avif": "AVIF",
}
#: The longest side an image is decoded at for analysis: the medium preview is the biggest
#: thing made from it, so JPEGs decode at a reduced DCT scale down to about this size.
EMBED_MAX_SIDE: Final = PREVIEW_SIZES["medium"]
#: The shortest side of the image handed to the embedder: CLIP's input is 224 px, so its own
#: resize becomes a no-op and nothing bigger crosses a process boundary.
EMBED_SHORT_SIDE: Final = 224
_ORIENTATION_TAG: Final = 0x0112
#: What Pillow raises for pixel data it cannot decode (broken stream, truncated file…).
_DECODE_ERRORS: Final = (OSError, SyntaxError, ValueError, EOFError)
_PILLOW_PIXELS = re.compile(r"\((\d+) pixels\)")
log = logging.getLogger(__name__)


def _pixel_limit(max_pixels: int) -> int:
    pillow = Image.MAX_IMAGE_PIXELS
    return min(max_pixels, pillow) if pillow else max_pixels


def _too_large(exc: Exception, limit: int) -> InvalidInput:
    found = _PILLOW_PIXELS.search(str(exc))
    pixels = f"{int(found.group(1)):,} pixels" if found else "its pixel count"
    return InvalidInput(f"image too large: {pixels} exceeds limit of {limit:,} pixels")


def _open(path: Path, fmt: str, limit: int) -> Image.Image:
    try:
        return Image.open(path, formats=[PIL_FORMATS[fmt]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_large(exc, limit) from exc
    except Exception as exc:
        raise InvalidInput(f"corrupt or unreadable {fmt.upper()} image") from exc


def _decode_frames(im: Image.Image, budget: int) -> None:
    """Decode every frame while the pixels decoded stay within `budget` (bounded time)."""
    spent = 0
    frame = 0
    while True:
        im.load()
        spent += im.width * im.height
        frame += 1
        if spent >= budget or not getattr(im, "is_animated", False):
            return
        try:
            im.seek(frame)
        except EOFError:
            return


def _check_pixels(im: Image.Image, path: Path, budget: int) -> None:
    """Prove the pixel data whole and sound at the least cost: a still PNG by its chunk
    CRCs and a full inflate of the pixel stream, checked against the declared size (see
    pngcheck), a JPEG by decoding every scan at 1/8 scale
    (libjpeg still reads all the entropy-coded data), anything else by a full decode."""
    if im.format == "PNG" and not getattr(im, "is_animated", False):
        check_png(path)
        return
    if im.format == "JPEG":
        im.draft(None, (max(1, im.width // 8), max(1, im.height // 8)))
    _decode_frames(im, budget)


def validate_image(path: Path, fmt: str, max_pixels: int) -> tuple[int, int]:
    """Check the declared size against `max_pixels` before decoding, then check the pixel
    data (a full decode where no cheaper proof exists; see `_check_pixels`).

    Returns (width, height). Raises InvalidInput for bombs, corrupt and truncated files.
    """
    limit = _pixel_limit(max_pixels)
    im = _open(path, fmt, limit)
    with im:
        width, height = im.size
        if width <= 0 or height <= 0:
            raise InvalidInput(f"{fmt.upper()} image declares no pixels")
        if width * height > limit:
            raise InvalidInput(
                f"image too large: {width}×{height} pixels exceeds limit of {limit:,} pixels"
            )
        try:
            _check_pixels(im, path, budget=limit)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _too_large(exc, limit) from exc
        except InvalidInput:
            raise
        except Exception as exc:
            raise InvalidInput(f"corrupt or truncated {fmt.upper()} image") from exc
    return width, height


def _orientation(im: Image.Image) -> int | None:
    try:
        # PNG keeps EXIF wherever it likes, so reading it may decode the whole image.
        value = im.getexif().get(_ORIENTATION_TAG)
    except Exception:
        return None
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def image_info(im: Image.Image, fmt: str) -> MediaInfo:
    """Technical metadata of an opened image, as stored (orientation not applied)."""
    return MediaInfo(
        format=fmt,
        width=im.width,
        height=im.height,
        color_mode=im.mode,
        has_alpha=has_alpha(im),
        orientation=_orientation(im),
        frames=int(getattr(im, "n_frames", 1)),
    )


def load_first_frame(im: Image.Image) -> None:
    """Decode the first frame: the one decode of an analysis. Previews, pHash, the
    embedder's input and the stealth-pixel text are all taken from it."""
    im.seek(0)
    if im.format == "JPEG":
        # libjpeg decodes at 1/2, 1/4 or 1/8 scale, keeping both sides at least this big:
        # a 4000 px photo costs about a 1000 px one.
        im.draft("RGB", (EMBED_MAX_SIDE, EMBED_MAX_SIDE))
    im.load()


def read_stealth_pixels(im: Image.Image) -> StealthRead | None:
    """The stealth-pixel text of a decoded PNG/WebP at full resolution, before orientation
    is applied (as provenance extraction would read it from the file); None for other
    formats or when the read fails, so that extraction reads the file itself."""
    if im.format not in ("PNG", "WEBP"):
        return None
    try:
        return StealthRead(read_stealth(im) if im.mode in ("RGBA", "RGB", "LA", "PA") else None)
    except Exception:
        log.debug("stealth pixels unreadable in the analysis's decode", exc_info=True)
        return None


def upright_picture(im: Image.Image) -> Image.Image:
    """A decoded image with its EXIF orientation applied, scaled to at most EMBED_MAX_SIDE."""
    # In place: a copy of the whole decoded image would cost as much as a resize.
    ImageOps.exif_transpose(im, in_place=True)
    # Bilinear (Pillow's is antialiased) for pictures: at 600 px it stays 47 dB PSNR from
    # Lanczos (bicubic 52), which the WebP preview then hides — 38.09 vs 38.12 dB from the
    # Lanczos reference after encoding — for 5 ms of CPU where bicubic costs 8 and Lanczos
    # 11 (1024² renders; docs/INGEST.md). Lanczos stays for text, where it is crisper.
    return fit(im, EMBED_MAX_SIDE, Image.Resampling.BILINEAR)


def embed_input(picture: Image.Image) -> Image.Image:
    """The RGB image the embedder gets: shortest side at most EMBED_SHORT_SIDE, any
    transparency composited onto white."""
    return flatten(fit_short_side(picture, EMBED_SHORT_SIDE))


def visual_analysis(
    media: MediaInfo, picture: Image.Image, stealth: StealthRead | None = None
) -> Analysis:
    """Previews, pHash and embed image of `picture`, under already known metadata."""
    shown = display_mode(picture)
    rgb = embed_input(shown)
    # Without transparency the embed image is `shown` scaled down: the small preview is
    # scaled from it (224 → 150 px) rather than from the medium one (600 → 150).
    smaller = rgb if shown.mode == "RGB" else None
    return Analysis(
        media=media,
        phash=perceptual_hash(rgb),  # 32×32 inside: the small image is all it needs
        previews=webp_previews(shown, smaller),
        embed_image=rgb,
        stealth=stealth,
    )


def analyse_image(path: Path, fmt: str) -> Analysis:
    """Metadata, previews (first frame, upright), pHash and the image to embed; marked
    `undecodable` when the pixels fail to decode."""
    with Image.open(path, formats=[PIL_FORMATS[fmt]]) as im:
        if im.width * im.height > (Image.MAX_IMAGE_PIXELS or im.width * im.height):
            log.warning("image of %d×%d pixels is too large to preview", im.width, im.height)
            return Analysis(media=image_info(im, fmt))
        # Read before the decode, which scales a JPEG down (`draft`) — except a PNG's: its
        # EXIF may sit after the pixels, so reading it decodes them, and a failure there
        # would be swallowed and a second decode of the damaged pixels would "succeed".
        media = None if im.format == "PNG" else image_info(im, fmt)
        try:
            load_first_frame(im)
        except _DECODE_ERRORS:
            log.warning("the pixels of a %s image do not decode", fmt, exc_info=True)
            return Analysis(media=media or image_info(im, fmt), undecodable=True)
        except Exception:
            log.warning("no previews for a %s image", fmt, exc_info=True)
            return Analysis(media=media or image_info(im, fmt))
        media = media or image_info(im, fmt)
        try:
            stealth = read_stealth_pixels(im)
            picture = upright_picture(im)
            return visual_analysis(media, picture, stealth)
        except Exception:
            log.warning("no previews for a %s image", fmt, exc_info=True)
            return Analysis(media=media)
