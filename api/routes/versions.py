"""/v1/assets/{id}/versions: new version, history, one version, its content, rollback,
delete, diff."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.content import content_response
from api.deps import ContainerDep, ReadWorkspace, UploadWorkspace, WriteWorkspace
from api.lifecycle_schemas import (
    FieldChangeOut,
    NewVersionOut,
    VersionDiffOut,
    VersionOut,
    VersionsOut,
)
from api.openapi import conditional_request, file_responses, problem_responses
from api.routes.assets import IdempotencyKeyHeader, WaitFlag, read_upload, wait_indexed
from api.schemas import AssetOut
from assetlens.domain import Asset
from assetlens.services.idempotency_records import parse_key as parse_idempotency_key
from assetlens.versions import MAX_CHANGE_DESCRIPTION, VersionRecord

router = APIRouter(prefix="/v1/assets/{asset_id}/versions", tags=["versions"])

Number = Annotated[int, Path(ge=1, le=1_000_000_000, description="version number (1 = original)")]


class RollbackBody(BaseModel):
    change_description: str = Field(default="", max_length=MAX_CHANGE_DESCRIPTION)


def _created(asset: Asset, record: VersionRecord) -> NewVersionOut:
    return NewVersionOut(version=VersionOut.of(record, asset), asset=AssetOut.of(asset))


@router.get(
    "",
    operation_id="versions_list",
    summary="An asset's kept versions, newest first",
    responses=problem_responses(401, 403, 404, 503),
)
async def list_versions(
    asset_id: str, workspace: ReadWorkspace, container: ContainerDep
) -> VersionsOut:
    history = await run_in_threadpool(container.versions.history, workspace, asset_id)
    return VersionsOut(
        asset_id=history.asset.id,
        current=history.asset.version,
        max_kept=container.settings.max_versions_kept,
        items=[VersionOut.of(v, history.asset) for v in history.versions],
    )


@router.post(
    "",
    status_code=201,
    operation_id="versions_create",
    summary="Upload a new current version (multipart `file`, `change_description`)",
    responses=problem_responses(401, 403, 404, 409, 413, 415, 422, 503),
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "change_description": {"type": "string"},
                        },
                    }
                }
            }
        }
    },
)
async def create_version(
    asset_id: str,
    request: Request,
    response: Response,
    workspace: UploadWorkspace,
    container: ContainerDep,
    wait: WaitFlag = False,
    idempotency_key: IdempotencyKeyHeader = None,
) -> NewVersionOut:
    key = parse_idempotency_key(idempotency_key)
    form, file = await read_upload(request, container)
    try:
        made = await run_in_threadpool(
            container.idempotency.new_version,
            container.versions,
            workspace,
            asset_id,
            key,
            file,
            form.fields.get("change_description", ""),
        )
    finally:
        form.discard()
    if made.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    asset = made.asset
    if wait:
        asset = await wait_indexed(container, asset)
    return _created(asset, made.record)


@router.get(
    "/diff",
    operation_id="versions_diff",
    summary="What differs between two versions (bytes, type metadata, provenance)",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def diff_versions(
    asset_id: str,
    workspace: ReadWorkspace,
    container: ContainerDep,
    from_version: Annotated[int, Query(alias="from", ge=1, le=1_000_000_000)],
    to_version: Annotated[int, Query(alias="to", ge=1, le=1_000_000_000)],
) -> VersionDiffOut:
    changes = await run_in_threadpool(
        container.versions.diff, workspace, asset_id, from_version, to_version
    )
    return VersionDiffOut(
        asset_id=asset_id,
        from_version=from_version,
        to_version=to_version,
        changes=[FieldChangeOut.of(c) for c in changes],
    )


@router.get(
    "/{number}",
    operation_id="versions_get",
    summary="One kept version",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def get_version(
    asset_id: str, number: Number, workspace: ReadWorkspace, container: ContainerDep
) -> VersionOut:
    asset, record = await run_in_threadpool(container.versions.get, workspace, asset_id, number)
    return VersionOut.of(record, asset)


@router.get(
    "/{number}/content",
    operation_id="versions_content",
    summary="The bytes of one version (ETag, Range)",
    response_class=Response,
    openapi_extra=conditional_request(ranges=True),
    responses={
        **file_responses("The bytes, served with their own media type", ranges=True),
        **problem_responses(401, 404, 416, 422, 503),
    },
)
async def version_content(
    asset_id: str,
    number: Number,
    request: Request,
    workspace: ReadWorkspace,
    container: ContainerDep,
) -> Response:
    asset = await run_in_threadpool(container.versions.content_asset, workspace, asset_id, number)
    return await content_response(request, container.assets, asset)


@router.post(
    "/{number}/rollback",
    status_code=201,
    operation_id="versions_rollback",
    summary="Make a new current version with the bytes of version `number`",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def rollback(
    asset_id: str,
    number: Number,
    workspace: WriteWorkspace,
    container: ContainerDep,
    body: Annotated[RollbackBody | None, Body()] = None,
    wait: WaitFlag = False,
) -> NewVersionOut:
    description = body.change_description if body else ""
    asset, record = await run_in_threadpool(
        container.versions.rollback, workspace, asset_id, number, description
    )
    if wait:
        asset = await wait_indexed(container, asset)
    return _created(asset, record)


@router.delete(
    "/{number}",
    status_code=204,
    operation_id="versions_delete",
    summary="Delete a kept version other than the current one",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def delete_version(
    asset_id: str, number: Number, workspace: WriteWorkspace, container: ContainerDep
) -> Response:
    await run_in_threadpool(container.versions.delete, workspace, asset_id, number)
    return Response(status_code=204)
