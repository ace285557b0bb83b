"""POST /v1/assets/bulk: one action over many assets, with per-asset results."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Body, Query
from starlette.concurrency import run_in_threadpool

from api.deps import ContainerDep, Writer
from api.openapi import problem_responses
from assetlens.bootstrap import Container
from assetlens.services.bulk import BulkRequest, BulkResult

router = APIRouter(prefix="/v1/assets", tags=["assets"])


@router.post(
    "/bulk",
    operation_id="assets_bulk",
    response_model=BulkResult,
    summary="Tag, untag, move, (un)favourite, trash or restore many assets at once",
    description="Selects assets by `ids` (at most 1000) or by a keyword `query` (at most "
    "`ASSETLENS_BULK_MAX_ASSETS`), then changes each one by its own revision. "
    "Assets that cannot be changed (missing, another workspace's, in the trash…) "
    "are listed in `failed` with the status a single request would get; the "
    "others are changed. A malformed request, bad tags, a `move` to no folder of "
    "the workspace or a query over the cap is a 422 that changes nothing.",
    responses=problem_responses(401, 403, 413, 422, 503),
)
async def bulk(
    body: Annotated[BulkRequest, Body()],
    caller: Writer,
    container: ContainerDep,
    wait: Annotated[
        bool, Query(description="return once the changed assets are searchable (bounded)")
    ] = False,
) -> BulkResult:
    result = await run_in_threadpool(container.bulk.run, caller.workspace, body)
    if wait:
        await _wait_indexed(container, caller.workspace, result.succeeded)
    return result


async def _wait_indexed(container: Container, workspace: str, asset_ids: list[str]) -> None:
    """Poll (bounded by `wait_timeout_seconds`) until every asset's latest revision is
    searchable; sleeping on the event loop, so waiting clients hold no worker thread."""
    deadline = time.monotonic() + container.settings.wait_timeout_seconds
    delay = 0.02
    pending = asset_ids
    while True:
        pending = await run_in_threadpool(container.assets.visibility.unindexed, workspace, pending)
        if not pending or time.monotonic() >= deadline:
            return
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.25)
