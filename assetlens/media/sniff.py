"""Content sniffing: which format a file's first bytes say it is.

Exact for the formats Assetlens accepts; a handful of common foreign formats are named too,
only so that the rejection message can say what was found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: How many leading bytes `sniff` wants to see.
HEAD_BYTES: Final = 8192


@dataclass(frozen=True, slots=True)
class Sniffed:
    """What the content looks like. `allowed` is False for recognised foreign formats."""

    format: str
    label: str
    allowed: bool = True


def _foreign(fmt: str, label: str) -> Sniffed:
    return Sniffed(fmt, label, allowed=False)


# ISO base media file format (ftyp) major brands, by what they hold.
_AVIF_BRANDS: Final = frozenset({b"avif", b"avis"})
_HEIF_BRANDS: Final = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
)
_M4A_BRANDS: Final = frozenset({b"M4A ", b"M4B ", b"M4P "})
_FOREIGN_BRANDS: Final = {b"jp2 ": "JPEG 2000", b"jpx ": "JPEG 2000", b"crx ": "Canon RAW"}
# Pre-ftyp QuickTime files start straight with one of these atoms.
_QT_ATOMS: Final = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})

_PREFIXES: Final[tuple[tuple[bytes, Sniffed], ...]] = (
    (b"\x89PNG\r\n\x1a\n", Sniffed("png", "PNG")),
    (b"\xff\xd8\xff", Sniffed("jpeg", "JPEG")),
    (b"GIF87a", Sniffed("gif", "GIF")),
    (b"GIF89a", Sniffed("gif", "GIF")),
    (b"fLaC", Sniffed("flac", "FLAC")),
    (b"ID3", Sniffed("mp3", "MP3")),
    (b"OTTO", Sniffed("otf", "OpenType (CFF)")),
    (b"wOFF", Sniffed("woff", "WOFF")),
    (b"wOF2", Sniffed("woff2", "WOFF2")),
    (b"%PDF-", _foreign("pdf", "PDF")),
    (b"PK\x03\x04", _foreign("zip", "ZIP archive")),
    (b"PK\x05\x06", _foreign("zip", "ZIP archive")),
    (b"SIMPLE  =", _foreign("fits", "FITS")),
    (b"\x1f\x8b", _foreign("gzip", "gzip archive")),
    (b"II*\x00", _foreign("tiff", "TIFF")),
    (b"MM\x00*", _foreign("tiff", "TIFF")),
    (b"8BPS", _foreign("psd", "Photoshop document")),
    (b"\x7fELF", _foreign("elf", "ELF executable")),
    (b"MZ", _foreign("exe", "Windows executable")),
    (b"7z\xbc\xaf\x27\x1c", _foreign("7z", "7-Zip archive")),
    (b"Rar!", _foreign("rar", "RAR archive")),
    (b"ttcf", _foreign("ttc", "font collection")),
    (b"\xff\x0a", _foreign("jxl", "JPEG XL")),
    (b"\x00\x00\x00\x0cJXL ", _foreign("jxl", "JPEG XL")),
    (b"BM", _foreign("bmp", "BMP")),
    (b"\x00\x00\x01\x00", _foreign("ico", "ICO")),
    (b"qoif", _foreign("qoi", "QOI")),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", _foreign("ole", "MS Office document")),
)


def _sniff_riff(head: bytes) -> Sniffed | None:
    kind = head[8:12]
    if head[:4] == b"RIFF" and kind == b"WEBP":
        return Sniffed("webp", "WebP")
    if head[:4] in (b"RIFF", b"RF64", b"BW64") and kind == b"WAVE":
        return Sniffed("wav", "WAV")
    if head[:4] == b"RIFF" and kind == b"AVI ":
        return _foreign("avi", "AVI")
    return None


def _sniff_isobmff(head: bytes) -> Sniffed | None:
    if head[4:8] != b"ftyp":
        return Sniffed("mov", "QuickTime") if head[4:8] in _QT_ATOMS else None
    major = head[8:12]
    box_size = int.from_bytes(head[:4], "big")
    compatible = {head[i : i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)}
    if major in _AVIF_BRANDS or (major in (b"mif1", b"msf1") and compatible & _AVIF_BRANDS):
        return Sniffed("avif", "AVIF")
    if major in _HEIF_BRANDS:
        return _foreign("heif", "HEIF")
    if major in _FOREIGN_BRANDS:
        return _foreign("isobmff", _FOREIGN_BRANDS[major])
    if major == b"qt  ":
        return Sniffed("mov", "QuickTime")
    if major in _M4A_BRANDS:
        return Sniffed("m4a", "MPEG-4 audio")
    return Sniffed("mp4", "MPEG-4")


def _ebml_doctype(head: bytes) -> bytes | None:
    at = head.find(b"\x42\x82", 4, 64)
    if at < 0 or at + 3 > len(head):
        return None
    size_byte = head[at + 2]
    if not size_byte & 0x80:  # only the one-byte size form is used for DocType in practice
        return None
    size = size_byte & 0x7F
    return head[at + 3 : at + 3 + size]


def _sniff_ebml(head: bytes) -> Sniffed | None:
    if head[:4] != b"\x1a\x45\xdf\xa3":
        return None
    doctype = _ebml_doctype(head)
    if doctype == b"webm":
        return Sniffed("webm", "WebM")
    return _foreign("mkv", "Matroska")


def _sniff_ogg(head: bytes) -> Sniffed | None:
    if head[:4] != b"OggS" or len(head) < 28:
        return None
    first_packet = head[27 + head[26] :]
    if first_packet.startswith(b"OpusHead"):
        return Sniffed("ogg-opus", "Ogg Opus")
    if first_packet.startswith(b"\x01vorbis"):
        return Sniffed("ogg-vorbis", "Ogg Vorbis")
    if first_packet.startswith(b"\x7fFLAC"):
        return Sniffed("ogg-flac", "Ogg FLAC")
    if first_packet.startswith((b"\x80theora", b"\x80kate", b"fishead")):
        return _foreign("ogg-video", "Ogg video")
    return _foreign("ogg-other", "Ogg (unsupported codec)")


def _is_mpeg_audio_frame(head: bytes) -> bool:
    """An MPEG-1/2/2.5 Layer III frame header (not ADTS AAC, which shares the sync word)."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0x3
    layer = (head[1] >> 1) & 0x3
    bitrate_index = head[2] >> 4
    rate_index = (head[2] >> 2) & 0x3
    return version != 1 and layer == 1 and bitrate_index not in (0, 15) and rate_index != 3


def _sniff_sfnt(head: bytes) -> Sniffed | None:
    if head[:4] not in (b"\x00\x01\x00\x00", b"true") or len(head) < 12:
        return None
    num_tables = int.from_bytes(head[4:6], "big")
    return Sniffed("ttf", "TrueType") if 1 <= num_tables <= 512 else None


def _sniff_markup(head: bytes) -> Sniffed | None:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not text.startswith(b"<"):
        return None
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<iframe")):
        return _foreign("html", "HTML")
    if b"<svg" in text:
        return Sniffed("svg", "SVG")
    if text.startswith(b"<?xml"):
        return _foreign("xml", "XML")
    return None


def sniff(head: bytes) -> Sniffed | None:
    """The format the leading bytes of a file declare, or None when nothing is recognised.

    Text formats (txt, md, json) have no signature and sniff as None; the validator decides.
    """
    for prefix, found in _PREFIXES:
        if head.startswith(prefix):
            return found
    for probe in (_sniff_riff, _sniff_isobmff, _sniff_ebml, _sniff_ogg, _sniff_sfnt):
        result = probe(head)
        if result is not None:
            return result
    if _is_mpeg_audio_frame(head):
        return Sniffed("mp3", "MP3")
    if head[:2] in (b"\xff\xf1", b"\xff\xf9"):
        return _foreign("aac", "raw AAC (ADTS)")
    return _sniff_markup(head)
