"""Where provenance text sits in a file: PNG chunks, EXIF, XMP, comments, stealth pixels,
video container tags and audio tags, gathered into one `Carrier`."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from assetlens.provenance.pngtext import PNG_SIGNATURE, TOTAL_TEXT_CAP, read_png_text
from assetlens.provenance.stealth import StealthRead, read_stealth

log = logging.getLogger(__name__)

IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "AVIF")
MAX_XMP_BYTES = 2 * 1024 * 1024
_TAG_VALUE_CAP = 8 * 1024 * 1024
# ComfyUI writes `prompt:{json}` / `workflow:{json}` into these IFD0 string tags of WebP.
_IFD0_TEXT_TAGS = (0x010E, 0x010F, 0x0110, 0x0131, 0x013B, 0x8298)
_PREFIXED = re.compile(r"^([A-Za-z_][\w\-]{0,31}):\s*([\[{].*)$", re.DOTALL)
_EXIF_IFD, _USER_COMMENT, _SOFTWARE, _DESCRIPTION, _XP_COMMENT = (
    0x8769,
    0x9286,
    0x0131,
    0x010E,
    0x9C9C,
)


@dataclass
class Carrier:
    """Metadata strings found in one file, before any generator is decided."""

    texts: dict[str, str] = field(default_factory=dict)
    user_comment: str | None = None
    software: str | None = None
    description: str | None = None
    comments: list[str] = field(default_factory=list)
    xmp: dict[str, str] = field(default_factory=dict)
    # Set for PNG/WebP: stealth pixels are decoded only when nothing else was found.
    stealth_path: Path | None = None
    # What the pixels hide when the analysis already decoded them: no second decode.
    stealth_read: StealthRead | None = None
    has_c2pa: bool = False
    notes: list[str] = field(default_factory=list)

    def add_text(self, key: str, value: str) -> None:
        """Record a keyed text (first occurrence wins), within the total size cap."""
        used = sum(len(v) for v in self.texts.values())
        if used + len(value) > TOTAL_TEXT_CAP:
            self.notes.append(f"text {key!r} skipped: total metadata cap reached")
            return
        self.texts.setdefault(key, value)


def decode_user_comment(value: bytes | str) -> str | None:
    """EXIF UserComment: `UNICODE\\0` + UTF-16 (BE as piexif writes, LE also seen; decided by
    BOM or zero-byte positions), `ASCII\\0\\0\\0`, `JIS`, or no prefix with raw UTF-8."""
    if isinstance(value, str):
        text = value
    else:
        prefix, body = value[:8], value[8:]
        if prefix == b"UNICODE\x00":
            text = _utf16(body)
        elif prefix == b"JIS\x00\x00\x00\x00\x00":
            text = body.decode("shift_jis", "replace")
        elif prefix in (b"ASCII\x00\x00\x00", b"\x00" * 8):
            text = body.decode("utf-8", "replace")
        else:
            text = value.decode("utf-8", "replace")
    text = text.strip("\x00").strip()
    return text or None


def _utf16(body: bytes) -> str:
    if body[:2] == b"\xfe\xff":
        return body[2:].decode("utf-16-be", "replace")
    if body[:2] == b"\xff\xfe":
        return body[2:].decode("utf-16-le", "replace")
    sample = body[:4096]
    even_zeros = sample[0::2].count(0)
    odd_zeros = sample[1::2].count(0)
    return body.decode("utf-16-le" if odd_zeros > even_zeros else "utf-16-be", "replace")


def read_image(path: Path, stealth: StealthRead | None = None) -> Carrier:
    """Everything textual in an image, plus stealth pixels for PNG/WebP with alpha or RGB
    (`stealth`: already read from the decoded pixels, else decoded on demand)."""
    carrier = Carrier()
    with path.open("rb") as handle:
        is_png = handle.read(8) == PNG_SIGNATURE
        if is_png:
            handle.seek(0)
            png = read_png_text(handle)
            carrier.texts.update(png.texts)
            carrier.has_c2pa = png.has_c2pa
            carrier.notes.extend(png.notes)
            if png.exif:
                exif = Image.Exif()
                exif.load(png.exif)
                _read_exif(exif, carrier)
            xmp = png.texts.get("XML:com.adobe.xmp")
            if xmp:
                carrier.xmp = parse_xmp(xmp.encode("utf-8"))
    try:
        with Image.open(path, formats=IMAGE_FORMATS) as image:
            _read_pillow(image, carrier, is_png)
            if image.format in ("PNG", "WEBP"):
                carrier.stealth_path = path
                carrier.stealth_read = stealth
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        carrier.notes.append(f"image metadata unreadable: {exc}")
    return carrier


def _read_pillow(image: Image.Image, carrier: Carrier, is_png: bool) -> None:
    if not is_png:
        _read_exif(image.getexif(), carrier)
        xmp = image.info.get("xmp")
        if isinstance(xmp, bytes | str):
            carrier.xmp = parse_xmp(xmp.encode("utf-8") if isinstance(xmp, str) else xmp)
    comment = image.info.get("comment")
    if isinstance(comment, bytes):
        comment = comment.decode("utf-8", "replace")
    if isinstance(comment, str) and comment.strip():
        carrier.comments.append(comment[:_TAG_VALUE_CAP])


def stealth_text(carrier: Carrier) -> str | None:
    """Text hidden in the pixel LSBs of the carrier's PNG/WebP, decoding pixels on demand."""
    if carrier.stealth_path is None:
        return None
    if carrier.stealth_read is not None:
        return carrier.stealth_read.text
    try:
        with Image.open(carrier.stealth_path, formats=("PNG", "WEBP")) as image:
            if image.mode not in ("RGBA", "RGB", "LA", "PA"):
                return None
            image.load()
            return read_stealth(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        carrier.notes.append(f"stealth pixels unreadable: {exc}")
        return None


def _read_exif(exif: Image.Exif, carrier: Carrier) -> None:
    for tag in _IFD0_TEXT_TAGS:
        value = exif.get(tag)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if not isinstance(value, str):
            continue
        value = value.strip("\x00")
        match = _PREFIXED.match(value)
        if match:
            carrier.add_text(match.group(1), match.group(2))
        elif tag == _SOFTWARE:
            carrier.software = value.strip() or None
        elif tag == _DESCRIPTION:
            carrier.description = value.strip() or None
    xp = exif.get(_XP_COMMENT)
    if isinstance(xp, bytes | tuple):
        text = bytes(xp).decode("utf-16-le", "replace").strip("\x00").strip()
        if text:
            carrier.comments.append(text)
    try:
        sub = exif.get_ifd(_EXIF_IFD)
    except (KeyError, ValueError, OSError, SyntaxError) as exc:
        carrier.notes.append(f"EXIF IFD unreadable: {exc}")
        return
    comment = sub.get(_USER_COMMENT)
    if isinstance(comment, bytes | str):
        carrier.user_comment = decode_user_comment(comment)


def parse_xmp(data: bytes) -> dict[str, str]:
    """Local element/attribute name → text of an XMP packet (first occurrence wins)."""
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    if len(data) > MAX_XMP_BYTES:
        return {}
    start = data.find(b"<x:xmpmeta")
    if start < 0:
        start = data.find(b"<rdf:RDF")
    end = max(data.rfind(b"</x:xmpmeta>") + 12, data.rfind(b"</rdf:RDF>") + 10)
    if start < 0 or end <= start:
        return {}
    try:
        root = ElementTree.fromstring(data[start:end])
    except (ElementTree.ParseError, DefusedXmlException, ValueError):
        return {}
    found: dict[str, str] = {}
    for element in root.iter():
        for name, value in element.attrib.items():
            found.setdefault(_local(name), value)
        local = _local(element.tag)
        text = " ".join(t.strip() for t in element.itertext() if t.strip())
        if text and local not in {"li", "Alt", "Seq", "Bag", "Description", "RDF", "xmpmeta"}:
            found.setdefault(local, text)
    return found


def _local(name: Any) -> str:
    return str(name).rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def read_video(path: Path) -> Carrier:
    """Container and stream tags (MP4 udta/meta keys, QuickTime, Matroska) via PyAV."""
    import av

    carrier = Carrier()
    with av.open(str(path), metadata_errors="ignore") as container:
        tags: list[dict[str, str]] = [dict(container.metadata)]
        tags.extend(dict(stream.metadata) for stream in container.streams)
    for group in tags:
        for key, value in group.items():
            if isinstance(value, str):
                carrier.add_text(str(key), value)
    return carrier


def read_audio(path: Path) -> Carrier:
    """Audio tags (ID3, Vorbis comments, MP4 atoms) via mutagen, keyed by plain lowercase
    names such as `comment`, `description` or a TXXX/freeform description."""
    import mutagen

    carrier = Carrier()
    audio = mutagen.File(str(path))
    tags = getattr(audio, "tags", None)
    if tags is None:
        return carrier
    for key, value in list(tags.items())[:512]:
        text = _tag_text(value)
        if text:
            carrier.add_text(_audio_key(str(key)), text)
    return carrier


def _audio_key(key: str) -> str:
    if key.startswith(("TXXX:", "----:")):
        return key.rsplit(":", 1)[-1].lower()
    if key.startswith("COMM"):
        return "comment"
    return {
        "\xa9cmt": "comment",
        "desc": "description",
        "\xa9des": "description",
        "USLT": "lyrics",
    }.get(key.split(":", 1)[0], key.lower())


def _tag_text(value: Any) -> str | None:
    items = getattr(value, "text", value)
    if not isinstance(items, list):
        items = [items]
    parts: list[str] = []
    for item in items[:64]:
        if isinstance(item, bytes):
            item = item.decode("utf-8", "replace")
        if isinstance(item, str):
            parts.append(item)
    text = "\n".join(parts).strip()
    return text[:_TAG_VALUE_CAP] or None
