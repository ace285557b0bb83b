"""Liveness, readiness and metrics."""

from __future__ import annotations

import logging
from ipaddress import ip_address
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool

from api.deps import ContainerDep, bearer
from assetlens.access import Scope
from assetlens.errors import AssetlensError, Forbidden, Unauthorized
from assetlens.prometheus import CONTENT_TYPE

log = logging.getLogger(__name__)
router = APIRouter(tags=["system"])


@router.get("/v1/health")
def health() -> dict[str, str]:
    """The process is up (checks nothing else)."""
    return {"status": "ok"}


@router.get("/v1/ready")
async def ready(container: ContainerDep) -> JSONResponse:
    """Ready when the object store and the search index answer (each check `ok` or
    `unavailable`); reports visual search."""
    checks: dict[str, Any] = {}
    ok = True
    for name, check in (("store", container.store.check), ("index", container.index.check)):
        try:
            await run_in_threadpool(check)
            checks[name] = "ok"
        except AssetlensError as exc:
            # The adapter's text (hosts, paths) is for the log: this endpoint is public.
            log.warning("readiness: %s unavailable: %s", name, exc.detail)
            checks[name] = "unavailable"
            ok = False
    embedder = container.embedder
    visual = embedder is not None and await run_in_threadpool(embedder.available)
    checks["visual_search"] = "available" if visual else "unavailable"
    body = {"status": "ready" if ok else "unavailable", "checks": checks}
    return JSONResponse(body, status_code=200 if ok else 503,
                        headers=None if ok else {"Retry-After": "5"})


async def metrics_allowed(
    request: Request, container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """`metrics_access`: public, loopback clients only (the default), or admin keys."""
    access = container.settings.metrics_access
    if access == "public":
        return
    if access == "loopback":
        host = request.client.host if request.client else ""
        try:
            if ip_address(host).is_loopback:
                return
        except ValueError:
            pass
        raise Forbidden("metrics are served to loopback clients only (metrics_access)")
    if credentials is None or not credentials.credentials.strip():
        raise Unauthorized("send `Authorization: Bearer <admin api key>`")
    caller = await run_in_threadpool(container.keys.identify, credentials.credentials.strip())
    if not caller.allows(Scope.ADMIN):
        raise Forbidden("metrics need an API key with the `admin` scope")


@router.get("/metrics", include_in_schema=False, dependencies=[Depends(metrics_allowed)])
async def metrics(container: ContainerDep) -> Response:
    """Prometheus text format: this process's application metrics (docs/OPERATIONS.md)."""
    body = await run_in_threadpool(container.metrics.render)
    return Response(body, media_type=CONTENT_TYPE)
