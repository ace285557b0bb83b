"""FastAPI dependencies: the wired container and the authenticated caller.

Routes take `Reader`, `Writer` or `Admin` (a `Caller` whose key has that scope) or the
shorthands `ReadWorkspace` / `WriteWorkspace` when only the workspace name matters.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from assetlens.access import Caller, Scope
from assetlens.bootstrap import Container
from assetlens.errors import Forbidden, Unauthorized


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]

# Declares the Bearer scheme in OpenAPI; our own code answers the 401 as problem+json.
bearer = HTTPBearer(auto_error=False, description="an API key: `assetlens keys create`")


async def get_caller(
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """The caller behind the Bearer API key; 401 problem otherwise."""
    if credentials is None or credentials.scheme.lower() != "bearer" \
            or not credentials.credentials.strip():
        raise Unauthorized("send `Authorization: Bearer <api key>`")
    return await run_in_threadpool(container.keys.identify, credentials.credentials.strip())


def require(scope: Scope) -> Callable[[Caller], Awaitable[Caller]]:
    """A dependency admitting callers whose key has `scope` (403 problem otherwise)."""

    async def check(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
        if not caller.allows(scope):
            raise Forbidden(f"this API key lacks the `{scope.value}` scope")
        return caller

    return check


Reader = Annotated[Caller, Depends(require(Scope.READ))]
Writer = Annotated[Caller, Depends(require(Scope.WRITE))]
Admin = Annotated[Caller, Depends(require(Scope.ADMIN))]


async def _read_workspace(caller: Reader) -> str:
    return caller.workspace


async def _write_workspace(caller: Writer) -> str:
    return caller.workspace


ReadWorkspace = Annotated[str, Depends(_read_workspace)]
WriteWorkspace = Annotated[str, Depends(_write_workspace)]
