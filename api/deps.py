"""FastAPI dependencies: the wired container and the authenticated caller.

Routes take `Reader`, `Writer` or `Admin` (a `Caller` whose key has that scope) or the
shorthands `ReadWorkspace` / `WriteWorkspace` when only the workspace name matters. A caller
authenticates with `Authorization: Bearer <api key>` or, from a browser, with the session
cookie of `POST /v1/session`; cookie-authenticated writes pass the CSRF checks of
api.browser.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.browser import check_csrf, session_cookie
from assetlens.access import Caller, Scope
from assetlens.bootstrap import Container
from assetlens.errors import Forbidden, Unauthorized
from assetlens.sessions import Session


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]
SessionCookie = Annotated[str | None, Depends(session_cookie)]

# Declares the Bearer scheme in OpenAPI; our own code answers the 401 as problem+json.
bearer = HTTPBearer(auto_error=False, description="an API key: `assetlens keys create`")


async def get_session(
    request: Request, container: ContainerDep, cookie: SessionCookie
) -> Session | None:
    """The browser session behind the cookie, CSRF-checked for writes; None when the
    request carries an Authorization header (it wins) or no cookie."""
    if "authorization" in request.headers or not cookie:
        return None
    session = await run_in_threadpool(container.sessions.resolve, cookie)
    check_csrf(request, session, container.settings)
    return session


async def get_caller(
    request: Request,
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    session: Annotated[Session | None, Depends(get_session)],
) -> Caller:
    """The caller behind the Bearer API key or the session cookie; 401 problem otherwise;
    429 past the key's rate limit. The key's id (never the key) goes to the access log."""
    if "authorization" in request.headers:
        if credentials is None or not credentials.credentials.strip():
            raise Unauthorized("send `Authorization: Bearer <api key>`")
        caller = await run_in_threadpool(container.keys.identify, credentials.credentials.strip())
    elif session is not None:
        caller = session.caller
    else:
        raise Unauthorized(
            "send `Authorization: Bearer <api key>` or sign in with POST /v1/session"
        )
    request.state.key_id = caller.key_id
    container.rate_limiter.admit(caller.key_id)
    return caller


async def require_session(session: Annotated[Session | None, Depends(get_session)]) -> Session:
    """The caller's browser session; 401 problem without one."""
    if session is None:
        raise Unauthorized("no browser session: sign in with POST /v1/session")
    return session


CurrentSession = Annotated[Session, Depends(require_session)]


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


async def _upload_workspace(
    workspace: WriteWorkspace, container: ContainerDep
) -> AsyncIterator[str]:
    with container.upload_slots.slot(workspace):
        yield workspace


# The caller's writable workspace, holding one of its concurrent-upload slots for the
# request (429 when none is free): the workspace of every route that takes an upload.
UploadWorkspace = Annotated[str, Depends(_upload_workspace)]
