"""What media inspection and analysis return."""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL.Image import Image

from assetlens.domain import AssetType, MediaInfo
from assetlens.provenance.stealth import StealthRead


@dataclass(frozen=True, slots=True)
class Inspection:
    """The verdict on an upload: its type and the mime sniffed from its content."""

    type: AssetType
    mime: str
    extension: str
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class Analysis:
    """Technical metadata, perceptual hash, WebP previews and the image to embed.

    `previews` maps "small" (150 px longest side) and "medium" (600 px) to WebP bytes; a
    key is absent when no preview could be made. `stealth`: the text hidden in the pixel
    LSBs of a PNG/WebP, read from this analysis's full-resolution decode for provenance
    extraction (None when the analysis did not decode such pixels). `undecodable`: the
    image's pixels failed to decode (a damaged or truncated file): the indexer fails the
    asset rather than mark it ready without previews.
    """

    media: MediaInfo
    phash: str | None = None
    previews: dict[str, bytes] = field(default_factory=dict)
    embed_image: Image | None = None
    stealth: StealthRead | None = None
    undecodable: bool = False
