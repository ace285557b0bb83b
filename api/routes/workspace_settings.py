"""/v1/settings: per-workspace settings (the duplicate policy at ingest)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from starlette.concurrency import run_in_threadpool

from api.deps import Admin, ContainerDep, ReadWorkspace
from api.openapi import problem_responses
from assetlens.services.duplicate_policy import DuplicatePolicy

router = APIRouter(prefix="/v1/settings", tags=["settings"])


@router.get(
    "/duplicates",
    operation_id="settings_duplicates_get",
    summary="The workspace's duplicate policy at upload and ingest",
    responses=problem_responses(401, 403, 503),
)
async def get_duplicate_policy(
    workspace: ReadWorkspace, container: ContainerDep
) -> DuplicatePolicy:
    return await run_in_threadpool(container.duplicate_policy.get, workspace)


@router.put(
    "/duplicates",
    operation_id="settings_duplicates_put",
    summary="Set the workspace's duplicate policy (admin)",
    responses=problem_responses(401, 403, 422, 503),
)
async def put_duplicate_policy(
    body: Annotated[DuplicatePolicy, Body()], caller: Admin, container: ContainerDep
) -> DuplicatePolicy:
    return await run_in_threadpool(container.duplicate_policy.put, caller.workspace, body)
