"""GET /v1/assets: page through a workspace's library with the filters, sorts and facets of
search, and no text."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from api.deps import ContainerDep, ReadWorkspace
from api.openapi import problem_responses
from api.schemas import SearchPageOut
from assetlens.filters import Facet, FacetMode, Filters
from assetlens.services.search import SearchRequest

router = APIRouter(prefix="/v1/assets", tags=["assets"])


class ListingParams(Filters):
    """The query of GET /v1/assets: every search filter (list fields repeat:
    `type=image&type=video`) plus paging, sort and facets."""

    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=512)
    sort: str | None = Field(
        default=None, max_length=40, description="`created_at:desc` (default), `name`, `-size`…"
    )
    facets: list[Facet] = Field(default_factory=list, max_length=len(Facet))
    facet_mode: FacetMode = FacetMode.CONJUNCTIVE


def listing_request(params: ListingParams) -> SearchRequest:
    """The search (no text) that a listing query asks for."""
    filters = Filters.model_validate(
        params.model_dump(include=set(Filters.model_fields), exclude_unset=True)
    )
    return SearchRequest(
        filters=filters,
        facets=params.facets,
        facet_mode=params.facet_mode,
        sort=params.sort,
        limit=params.limit,
        cursor=params.cursor,
    )


@router.get(
    "",
    operation_id="assets_list",
    summary="List assets: the filters, sorts and facets of search, cursor-paginated",
    responses=problem_responses(401, 403, 422, 503),
)
async def list_assets(
    params: Annotated[ListingParams, Query()], workspace: ReadWorkspace, container: ContainerDep
) -> SearchPageOut:
    page = await run_in_threadpool(container.search.search, workspace, listing_request(params))
    return SearchPageOut.of(page)
