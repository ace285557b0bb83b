"""The web UI: `GET /` serves the single page, `/ui/…` its static files.

Included last in the app so every /v1 route wins. The page talks to the public /v1 API only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from api.ui_bundle import SECURITY_HEADERS, UiBundle, UiFile
from assetlens.errors import NotFound

router = APIRouter(include_in_schema=False)
bundle = UiBundle()

IMMUTABLE = "public, max-age=31536000, immutable"


def _serve(found: UiFile, if_none_match: str | None, cache_control: str) -> Response:
    headers = {"ETag": found.etag, "Cache-Control": cache_control, **SECURITY_HEADERS}
    if if_none_match is not None and found.etag in if_none_match:
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)


@router.get("/")
def index(if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """The UI page; always revalidated so a new release shows at once."""
    page = bundle.index()
    if page is None:
        raise NotFound("the web UI is not installed")
    return _serve(page, if_none_match, "no-cache")


@router.get("/ui/{path:path}")
def static(
    path: str,
    if_none_match: Annotated[str | None, Header()] = None,
    v: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """A UI file. With `?v=` naming its current content hash it is cached for a year;
    otherwise (ES module imports) it is revalidated by ETag."""
    found = bundle.get(path)
    if found is None:
        raise NotFound("no such UI file")
    cache = IMMUTABLE if v == found.version else "no-cache"
    return _serve(found, if_none_match, cache)
