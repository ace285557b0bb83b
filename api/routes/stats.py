"""/v1/stats: a workspace's library figures (counts, bytes, generation cost, storage,
trash) and usage (views, downloads, most used assets)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.deps import ContainerDep, ReadWorkspace
from api.openapi import problem_responses
from api.stats_schemas import StatsOut

router = APIRouter(prefix="/v1/stats", tags=["stats"])


@router.get(
    "",
    operation_id="stats_get",
    response_model=StatsOut,
    summary="Library and usage statistics of your workspace",
    responses=problem_responses(401, 403, 503),
)
async def get_stats(workspace: ReadWorkspace, container: ContainerDep) -> StatsOut:
    stats = await run_in_threadpool(container.stats.get, workspace)
    return StatsOut.of(stats)
