"""JSON bodies shared by several routes."""

from __future__ import annotations

from typing import Any

from assetlens.query import Hit, SearchPage


def hits_body(hits: list[Hit]) -> dict[str, Any]:
    return {"items": [{"asset": hit.asset.public(), "score": hit.score} for hit in hits]}


def page_body(page: SearchPage) -> dict[str, Any]:
    return {
        "total": page.total,
        **hits_body(page.hits),
        "facets": {name: [b.model_dump() for b in buckets]
                   for name, buckets in page.facets.items()},
        "next_cursor": page.next_cursor,
    }
