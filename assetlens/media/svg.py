"""SVG logos: safe parsing, sanitising and rasterising.

Parsing uses defusedxml (no entity declarations, no external references). Before resvg
draws anything, every active or external part is removed: resvg runs no script and fetches
nothing over the network, but it does read local files named by `href`, so only in-document
(`#id`) and raster `data:` references are kept. Documents whose `<use>` references expand
too far are not drawn at all (a placeholder stands in).
"""

from __future__ import annotations

import io
import logging
import re
import xml.etree.ElementTree as ET  # building and serialising only; parsing is defusedxml
from pathlib import Path
from typing import Final

import defusedxml
import defusedxml.ElementTree as SafeET
import resvg_py
from PIL import Image

from assetlens.domain import MediaInfo
from assetlens.errors import InvalidInput, UnsupportedMediaType
from assetlens.media.phash import perceptual_hash
from assetlens.media.previews import PREVIEW_SIZES, flatten, placeholder, webp_previews
from assetlens.media.results import Analysis

log = logging.getLogger(__name__)

SVG_NS: Final = "http://www.w3.org/2000/svg"
XLINK_NS: Final = "http://www.w3.org/1999/xlink"
#: Elements that can run script, embed other documents or animate attributes.
_DROPPED_ELEMENTS: Final = frozenset(
    {
        "script",
        "foreignObject",
        "iframe",
        "object",
        "embed",
        "audio",
        "video",
        "canvas",
        "handler",
        "listener",
        "set",
        "animate",
        "animateMotion",
        "animateTransform",
        "animateColor",
    }
)
_SAFE_DATA_HREF: Final = re.compile(r"^\s*data:image/(png|jpeg|jpg|gif|webp);", re.IGNORECASE)
_EXTERNAL_URL: Final = re.compile(r"url\(\s*['\"]?\s*(?!#)", re.IGNORECASE)
_IMPORT: Final = re.compile(r"@import", re.IGNORECASE)
_LENGTH: Final = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(px)?\s*$")
#: Most elements (with `<use>` expanded) drawn; beyond it a placeholder is shown.
MAX_RENDERED_ELEMENTS: Final = 50_000
_RENDER_SIDE: Final = PREVIEW_SIZES["medium"]


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def parse_svg(data: bytes) -> ET.Element:
    """The root `<svg>` element. InvalidInput for unsafe or malformed XML,
    UnsupportedMediaType when the document is XML but not SVG."""
    try:
        root: ET.Element = SafeET.fromstring(
            data, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DefusedXmlException as exc:
        raise InvalidInput(f"unsafe SVG rejected: {type(exc).__name__}") from exc
    except ET.ParseError as exc:
        raise InvalidInput(f"malformed SVG: {exc}") from exc
    except (ValueError, RecursionError) as exc:
        raise InvalidInput("malformed SVG") from exc
    if _local(root.tag) != "svg" or _namespace(root.tag) not in ("", SVG_NS):
        raise UnsupportedMediaType("the XML document is not an SVG image")
    return root


def _length(value: str | None) -> float | None:
    if value is None:
        return None
    found = _LENGTH.match(value)
    return float(found.group(1)) if found else None


def intrinsic_size(root: ET.Element) -> tuple[float, float] | None:
    """Width and height in user units (from width/height, else the viewBox), if known."""
    width, height = _length(root.get("width")), _length(root.get("height"))
    box = (root.get("viewBox") or "").replace(",", " ").split()
    if len(box) == 4:
        try:
            vb_w, vb_h = float(box[2]), float(box[3])
        except ValueError:
            vb_w = vb_h = 0.0
        if vb_w > 0 and vb_h > 0:
            if width is None and height is None:
                return vb_w, vb_h
            if width is None and height:
                return height * vb_w / vb_h, height
            if height is None and width:
                return width, width * vb_h / vb_w
    if width and height:
        return width, height
    return None


def _safe_href(value: str) -> bool:
    return value.startswith("#") or bool(_SAFE_DATA_HREF.match(value))


def _clean_attributes(el: ET.Element) -> None:
    for name in list(el.attrib):
        local = _local(name).lower()
        value = el.attrib[name]
        if (
            local.startswith("on")
            or "javascript:" in value.lower().replace(" ", "")
            or (local == "href" and not _safe_href(value.strip()))
            or _EXTERNAL_URL.search(value)
            or _IMPORT.search(value)
        ):
            del el.attrib[name]


def sanitise(root: ET.Element) -> ET.Element:
    """Remove script, event handlers, embedded documents, animations and every reference
    that leaves the document. Works in place and returns `root`."""
    doomed: list[tuple[ET.Element, ET.Element]] = []
    for parent in root.iter():
        for child in list(parent):
            local = _local(child.tag)
            # Comments and processing instructions have a non-string tag: dropped too.
            foreign = not isinstance(child.tag, str) or _namespace(child.tag) not in ("", SVG_NS)
            css = local == "style" and (
                _IMPORT.search(child.text or "") or _EXTERNAL_URL.search(child.text or "")
            )
            if local in _DROPPED_ELEMENTS or foreign or css:
                doomed.append((parent, child))
    for parent, child in doomed:
        parent.remove(child)
    for el in root.iter():
        _clean_attributes(el)
    return root


def rendered_elements(root: ET.Element, limit: int = MAX_RENDERED_ELEMENTS) -> int:
    """How many elements drawing would visit, `<use>` references expanded; stops counting
    past `limit`. A reference cycle counts as over the limit."""
    by_id = {el.get("id"): el for el in root.iter() if el.get("id")}
    memo: dict[int, int] = {}
    visiting: set[int] = set()

    def cost(el: ET.Element) -> int:
        key = id(el)
        if key in memo:
            return memo[key]
        if key in visiting:
            return limit + 1
        visiting.add(key)
        total = 1
        for child in el:
            total += cost(child)
            if total > limit:
                break
        if _local(el.tag) == "use":
            href = el.get("href") or el.get(f"{{{XLINK_NS}}}href") or ""
            target = by_id.get(href[1:]) if href.startswith("#") else None
            if target is not None:
                total += cost(target)
        visiting.discard(key)
        memo[key] = min(total, limit + 1)
        return memo[key]

    try:
        return cost(root)
    except RecursionError:
        return limit + 1


def rasterise(root: ET.Element, side: int = _RENDER_SIDE) -> Image.Image | None:
    """The sanitised drawing as RGBA, longest side `side`; None when it must not be drawn."""
    if rendered_elements(root) > MAX_RENDERED_ELEMENTS:
        log.warning("SVG too complex to draw; using a placeholder")
        return None
    size = intrinsic_size(root) or (float(side), float(side))
    scale = side / max(size)
    width, height = max(1, round(size[0] * scale)), max(1, round(size[1] * scale))
    markup = ET.tostring(root, encoding="unicode")
    png = resvg_py.svg_to_bytes(svg_string=markup, width=width, height=height)
    with Image.open(io.BytesIO(bytes(png)), formats=["PNG"]) as im:
        im.load()
        return im.convert("RGBA")


def validate_svg(data: bytes) -> tuple[int | None, int | None]:
    """Parse the SVG safely; returns its intrinsic (width, height) when it has one."""
    return validate_svg_size(parse_svg(data))


def analyse_svg(path: Path) -> Analysis:
    """Size metadata, and previews from a safe rasterisation (or a placeholder)."""
    root = parse_svg(path.read_bytes())
    width, height = validate_svg_size(root)
    media = MediaInfo(format="svg", width=width, height=height, has_alpha=True)
    try:
        drawing = rasterise(sanitise(root))
    except Exception:
        log.warning("SVG could not be rasterised; using a placeholder", exc_info=True)
        drawing = None
    if drawing is None:
        return Analysis(media=media, previews=webp_previews(placeholder("SVG")))
    rgb = flatten(drawing)
    return Analysis(
        media=media,
        phash=perceptual_hash(rgb),
        previews=webp_previews(drawing),
        embed_image=rgb,
    )


def validate_svg_size(root: ET.Element) -> tuple[int | None, int | None]:
    """(width, height) rounded to whole pixels, or (None, None)."""
    size = intrinsic_size(root)
    if size is None:
        return None, None
    return max(1, round(size[0])), max(1, round(size[1]))
