"""Media understanding: type detection and validation at upload, technical metadata,
previews and perceptual hashes."""

from assetlens.media.analyse import analyse
from assetlens.media.phash import hamming, perceptual_hash
from assetlens.media.results import Analysis, Inspection
from assetlens.media.types import (
    ALLOWED_EXTENSIONS,
    MIME_BY_EXTENSION,
    STORED_MIMES,
    TYPE_BY_EXTENSION,
    classify_extension,
    is_active_content,
)
from assetlens.media.validate import inspect_upload

__all__ = [
    "ALLOWED_EXTENSIONS",
    "MIME_BY_EXTENSION",
    "STORED_MIMES",
    "TYPE_BY_EXTENSION",
    "Analysis",
    "Inspection",
    "analyse",
    "classify_extension",
    "hamming",
    "inspect_upload",
    "is_active_content",
    "perceptual_hash",
]
