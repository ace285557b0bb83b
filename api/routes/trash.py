"""/v1/trash: list trashed assets, restore, purge one or all."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from api.deps import ContainerDep, ReadWorkspace, WriteWorkspace
from api.lifecycle_schemas import PurgeOut, TrashItemOut, TrashPageOut
from api.openapi import problem_responses
from api.routes.assets import WaitFlag, wait_indexed
from api.schemas import AssetOut

router = APIRouter(prefix="/v1/trash", tags=["trash"])


@router.get(
    "",
    operation_id="trash_list",
    summary="Trashed assets, most recently trashed first (cursor-paginated)",
    responses=problem_responses(401, 403, 422, 503),
)
async def list_trash(
    workspace: ReadWorkspace,
    container: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> TrashPageOut:
    trash = container.trash
    page = await run_in_threadpool(trash.list, workspace, limit, cursor)
    return TrashPageOut(
        total=page.total,
        next_cursor=page.next_cursor,
        retention_days=container.settings.trash_retention_days,
        items=[
            TrashItemOut(asset=AssetOut.of(hit.asset), purge_at=trash.purge_at(hit.asset))
            for hit in page.hits
        ],
    )


@router.post(
    "/{asset_id}/restore",
    operation_id="trash_restore",
    summary="Restore an asset from the trash (as POST /v1/assets/{id}/restore)",
    responses=problem_responses(401, 403, 404, 503),
)
async def restore(
    asset_id: str, workspace: WriteWorkspace, container: ContainerDep, wait: WaitFlag = False
) -> AssetOut:
    asset = await run_in_threadpool(container.trash.restore, workspace, asset_id)
    if wait:
        asset = await wait_indexed(container, asset)
    return AssetOut.of(asset)


@router.delete(
    "/{asset_id}",
    status_code=204,
    operation_id="trash_purge",
    summary="Remove a trashed asset for good (its versions, blobs, previews too)",
    responses=problem_responses(401, 403, 404, 409, 503),
)
async def purge(asset_id: str, workspace: WriteWorkspace, container: ContainerDep) -> Response:
    await run_in_threadpool(container.trash.purge, workspace, asset_id)
    return Response(status_code=204)


@router.delete(
    "",
    operation_id="trash_purge_all",
    summary="Empty the trash: remove every trashed asset of the workspace for good",
    responses=problem_responses(401, 403, 503),
)
async def purge_all(workspace: WriteWorkspace, container: ContainerDep) -> PurgeOut:
    report = await run_in_threadpool(container.trash.purge_all, workspace)
    return PurgeOut(purged=report.purged, failed=report.failed)
