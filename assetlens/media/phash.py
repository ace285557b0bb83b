"""Perceptual hashes for near-duplicate detection."""

from __future__ import annotations

import imagehash
from PIL.Image import Image


def perceptual_hash(im: Image) -> str:
    """The 64-bit DCT perceptual hash of `im` as 16 hex characters."""
    return str(imagehash.phash(im))


def hamming(a: str, b: str) -> int:
    """Bits that differ between two perceptual hashes given as hex strings of equal length."""
    if len(a) != len(b):
        raise ValueError(f"hash lengths differ: {len(a)} vs {len(b)}")
    return (int(a, 16) ^ int(b, 16)).bit_count()
