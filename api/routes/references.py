"""/v1/assets/{id}/references (where an asset is used) and /v1/assets/{id}/lineage."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response
from starlette.concurrency import run_in_threadpool

from api.deps import ContainerDep, ReadWorkspace, Writer, WriteWorkspace
from api.openapi import problem_responses
from api.reference_schemas import LineageOut, ReferencesOut
from assetlens.services.lineage import DEFAULT_DEPTH, MAX_DEPTH
from assetlens.services.references import Reference, ReferenceIn

router = APIRouter(prefix="/v1/assets/{asset_id}", tags=["references"])

AssetId = Annotated[str, Path(max_length=64, description="an asset id")]
ReferenceId = Annotated[str, Path(max_length=64, description="a reference id")]


@router.post(
    "/references",
    status_code=201,
    operation_id="references_create",
    summary="Record that a resource uses this asset",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def create_reference(
    asset_id: AssetId, body: Annotated[ReferenceIn, Body()], caller: Writer, container: ContainerDep
) -> Reference:
    return await run_in_threadpool(
        container.references.create, caller.workspace, asset_id, body, caller.key_id
    )


@router.get(
    "/references",
    operation_id="references_list",
    summary="Where this asset is used",
    responses=problem_responses(401, 403, 404, 503),
)
async def list_references(
    asset_id: AssetId, workspace: ReadWorkspace, container: ContainerDep
) -> ReferencesOut:
    refs = await run_in_threadpool(container.references.list_references, workspace, asset_id)
    return ReferencesOut.of(asset_id, refs)


@router.get(
    "/references/{reference_id}",
    operation_id="references_get",
    summary="One reference to this asset",
    responses=problem_responses(401, 403, 404, 503),
)
async def get_reference(
    asset_id: AssetId, reference_id: ReferenceId, workspace: ReadWorkspace, container: ContainerDep
) -> Reference:
    return await run_in_threadpool(container.references.get, workspace, asset_id, reference_id)


@router.delete(
    "/references/{reference_id}",
    status_code=204,
    operation_id="references_delete",
    summary="Forget one use of this asset",
    responses=problem_responses(401, 403, 404, 503),
)
async def delete_reference(
    asset_id: AssetId, reference_id: ReferenceId, workspace: WriteWorkspace, container: ContainerDep
) -> Response:
    await run_in_threadpool(container.references.remove, workspace, asset_id, reference_id)
    return Response(status_code=204)


@router.get(
    "/lineage",
    operation_id="assets_lineage",
    summary="Ancestors and derivatives of this asset (depth-limited, cycle-safe)",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def lineage(
    asset_id: AssetId,
    workspace: ReadWorkspace,
    container: ContainerDep,
    depth: Annotated[int, Query(ge=1, le=MAX_DEPTH)] = DEFAULT_DEPTH,
) -> LineageOut:
    found = await run_in_threadpool(container.lineage.lineage, workspace, asset_id, depth)
    return LineageOut.of(found)
