"""`POST /v1/assets/from-url`: import a file from a public http(s) URL."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import ContainerDep, UploadWorkspace
from api.link_schemas import UrlImportIn
from api.openapi import problem_responses
from api.routes.assets import IdempotencyKeyHeader, WaitFlag, submitted_response
from api.schemas import AssetOut
from assetlens.services.asset_inputs import UploadForm
from assetlens.services.idempotency_records import parse_key as parse_idempotency_key

router = APIRouter(prefix="/v1/assets", tags=["assets"])


@router.post(
    "/from-url",
    status_code=201,
    operation_id="assets_from_url",
    response_model=AssetOut,
    summary="Import a file from a public http(s) URL (then as an upload)",
    responses={
        200: {
            "model": AssetOut,
            "description": "A duplicate the workspace links: the existing "
            "asset (header X-Duplicate-Of)",
        },
        **problem_responses(401, 403, 404, 409, 413, 415, 422, 502, 503, 504),
    },
)
async def from_url(
    body: Annotated[UrlImportIn, Body()],
    workspace: UploadWorkspace,
    container: ContainerDep,
    wait: WaitFlag = False,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    key = parse_idempotency_key(idempotency_key)
    form = UploadForm(
        name=body.name,
        description=body.description,
        tags=body.tags,
        folder_id=body.folder_id,
        prompt=body.prompt,
        metadata=body.metadata,
        type=body.type,
    )
    submitted = await run_in_threadpool(
        container.idempotency.import_url, container.url_import, workspace, key, body.url, form
    )
    return await submitted_response(container, submitted, wait)
