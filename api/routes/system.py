"""Liveness and readiness (metrics: api/routes/metrics.py)."""

from __future__ import annotations

import logging
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.deps import ContainerDep
from api.openapi import PUBLIC
from assetlens.errors import AssetlensError

log = logging.getLogger(__name__)
router = APIRouter(tags=["system"])


class HealthOut(BaseModel):
    status: Literal["ok"]


class ReadyOut(BaseModel):
    """`checks`: `store` and `index` ("ok" or why not), `visual_search` ("available" or
    "unavailable"; it does not make the server unready)."""

    status: Literal["ready", "unavailable"]
    checks: dict[str, str]


@router.get("/v1/health", operation_id="health", summary="Liveness", openapi_extra=PUBLIC)
def health() -> HealthOut:
    """The process is up (checks nothing else)."""
    return HealthOut(status="ok")


@router.get(
    "/v1/ready",
    operation_id="ready",
    summary="Readiness",
    response_model=ReadyOut,
    openapi_extra=PUBLIC,
    responses={
        503: {
            "model": ReadyOut,
            "description": "A backend does not answer "
            "(Retry-After); the same body, status `unavailable`",
        }
    },
)
async def ready(container: ContainerDep) -> JSONResponse:
    """Ready when the object store and the search index answer; reports visual search."""
    checks: dict[str, Any] = {}
    ok = True
    for name, check in (("store", container.store.check), ("index", container.index.check)):
        try:
            await run_in_threadpool(check)
            checks[name] = "ok"
        except AssetlensError as exc:
            # This endpoint is public: the adapter's text (hosts, paths) is for the log.
            log.warning("readiness: %s unavailable: %s", name, exc.detail)
            checks[name] = "unavailable"
            ok = False
    embedder = container.embedder
    visual = embedder is not None and await run_in_threadpool(embedder.available)
    checks["visual_search"] = "available" if visual else "unavailable"
    body = {"status": "ready" if ok else "unavailable", "checks": checks}
    return JSONResponse(
        body, status_code=200 if ok else 503, headers=None if ok else {"Retry-After": "5"}
    )
