"""FastAPI dependencies: the wired container and the caller's workspace."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from assetlens.bootstrap import Container
from assetlens.errors import Unauthorized


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


async def get_workspace(request: Request, container: ContainerDep) -> str:
    """The workspace of the Bearer API key; 401 problem otherwise."""
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("send `Authorization: Bearer <api key>`")
    return await run_in_threadpool(container.keys.workspace_for, key.strip())


Workspace = Annotated[str, Depends(get_workspace)]
