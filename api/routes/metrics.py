"""GET /metrics: this process's application metrics, for Prometheus (docs/OPERATIONS.md)."""

from __future__ import annotations

from ipaddress import ip_address
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool

from api.deps import ContainerDep, bearer
from assetlens.access import Scope
from assetlens.errors import Forbidden, Unauthorized
from assetlens.prometheus import CONTENT_TYPE

router = APIRouter(tags=["system"])


async def metrics_allowed(
    request: Request,
    container: ContainerDep,
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
    """Prometheus text format: counters, histograms and the indexing queue's gauges."""
    body = await run_in_threadpool(container.metrics.render)
    return Response(body, media_type=CONTENT_TYPE)
