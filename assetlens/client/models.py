"""The typed shapes the client returns and takes: the server's own response models
(api/schemas.py, pure pydantic) and query types, so both sides agree by construction."""

from __future__ import annotations

from api.schemas import AssetOut as Asset
from api.schemas import HitsOut, SearchHitOut, SearchPageOut
from assetlens.domain import AssetStatus, AssetType, Generation, Source
from assetlens.filters import Facet, FacetMode, Filters
from assetlens.query import FacetBucket, SearchMode

SearchHit = SearchHitOut
SearchPage = SearchPageOut

__all__ = [
    "Asset",
    "AssetStatus",
    "AssetType",
    "Facet",
    "FacetBucket",
    "FacetMode",
    "Filters",
    "Generation",
    "HitsOut",
    "SearchHit",
    "SearchMode",
    "SearchPage",
    "Source",
]
