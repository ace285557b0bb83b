"""/v1/search: keyword, semantic and hybrid search with facets; search by image."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import ContainerDep, ReadWorkspace
from api.multipart import read_form
from api.openapi import multipart_body, problem_responses
from api.schemas import HitsOut, SearchPageOut
from assetlens import media
from assetlens.domain import AssetType
from assetlens.errors import InvalidInput, UnsupportedMediaType
from assetlens.filters import Filters
from assetlens.services.asset_inputs import parse_json_object
from assetlens.services.search import SearchRequest

router = APIRouter(prefix="/v1/search", tags=["search"])


@router.post(
    "",
    operation_id="search",
    summary="Search assets: keyword, semantic (CLIP) or hybrid, with facets",
    responses=problem_responses(401, 403, 422, 503),
)
async def search(
    body: Annotated[SearchRequest, Body()], workspace: ReadWorkspace, container: ContainerDep
) -> SearchPageOut:
    page = await run_in_threadpool(container.search.search, workspace, body)
    return SearchPageOut.of(page)


@router.post(
    "/by-image",
    operation_id="search_by_image",
    summary="Assets that look like an uploaded image (multipart `file`)",
    responses=problem_responses(401, 403, 413, 415, 422, 503),
    openapi_extra=multipart_body(
        filters={"type": "string", "description": "a JSON object of search filters"}
    ),
)
async def by_image(
    request: Request,
    workspace: ReadWorkspace,
    container: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> HitsOut:
    settings = container.settings
    await run_in_threadpool(container.search.require_model)  # 503 before taking the upload

    def image_limit(filename: str) -> int:
        found = media.classify_extension(filename)
        if found is None or found[0] not in (AssetType.IMAGE, AssetType.LOGO):
            raise UnsupportedMediaType("search by image takes a jpg, png, webp or gif file")
        return settings.max_image_bytes

    form = await read_form(
        request,
        spool_dir=settings.data_dir / "tmp" / "uploads",
        file_field="file",
        file_limit=image_limit,
        max_field_bytes=settings.max_form_field_bytes,
    )
    try:
        if form.file is None:
            raise InvalidInput("the multipart field `file` is required")
        filters = Filters()
        if form.fields.get("filters"):
            raw = parse_json_object(
                form.fields["filters"], max_depth=settings.max_json_depth, what="filters"
            )
            try:
                filters = Filters.model_validate(raw)
            except ValidationError as exc:
                raise InvalidInput(f"invalid filters: {exc.errors()[0]['msg']}") from exc
        spooled = form.file
        # Proven and decoded where uploads are (a worker process), not in the server.
        image = await run_in_threadpool(
            container.prover.query_image,
            spooled.path,
            spooled.filename,
            max_image_pixels=settings.max_image_pixels,
        )
        hits = await run_in_threadpool(container.search.by_image, workspace, image, limit, filters)
    finally:
        form.discard()
    return HitsOut.of(hits)
