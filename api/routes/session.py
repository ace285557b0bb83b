"""/v1/session: sign a browser in with an API key, read the session, sign out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.browser import (
    COOKIE_NAME,
    check_same_origin,
    clear_session_cookie,
    is_https,
    set_session_cookie,
)
from api.deps import ContainerDep, CurrentSession, SessionCookie
from api.openapi import PUBLIC, problem_responses
from assetlens.access import Scope, implied, ordered
from assetlens.sessions import Session

router = APIRouter(prefix="/v1/session", tags=["session"])

_NO_STORE = "no-store"  # the body carries the CSRF token


class SignInRequest(BaseModel):
    """The API key to exchange, in the body: never in a URL."""

    model_config = ConfigDict(extra="forbid")
    api_key: str = Field(min_length=1, max_length=256)


class SessionResponse(BaseModel):
    """A browser session. `scopes` lists every scope it grants (implications included);
    send `csrf_token` as `X-CSRF-Token` on every POST, PUT, PATCH and DELETE."""

    workspace: str
    scopes: list[Scope]
    csrf_token: str
    expires_at: datetime


def _body(session: Session) -> SessionResponse:
    return SessionResponse(
        workspace=session.caller.workspace,
        scopes=ordered(implied(session.caller.scopes)),
        csrf_token=session.csrf_token,
        expires_at=session.expires_at,
    )


@router.post(
    "",
    operation_id="session_create",
    summary="Sign in: exchange an API key for a session cookie",
    responses=problem_responses(401, 403, 413, 422, 503),
    openapi_extra=PUBLIC,
)
async def sign_in(
    body: Annotated[SignInRequest, Body()],
    request: Request,
    response: Response,
    container: ContainerDep,
) -> SessionResponse:
    """Sets the `assetlens_session` cookie (HttpOnly, SameSite=Strict, Secure over https).
    A new session id every time; a session the browser still held is ended."""
    settings = container.settings
    check_same_origin(request, settings)
    # Read directly, not through the cookie scheme: sign-in itself needs no credentials.
    signed = await run_in_threadpool(
        container.sessions.sign_in, body.api_key.strip(), replacing=request.cookies.get(COOKIE_NAME)
    )
    set_session_cookie(response, signed, secure=is_https(request, settings))
    response.headers["Cache-Control"] = _NO_STORE
    return _body(signed.session)


@router.get(
    "",
    operation_id="session_get",
    summary="The current browser session",
    responses=problem_responses(401),
)
async def get_session(session: CurrentSession, response: Response) -> SessionResponse:
    response.headers["Cache-Control"] = _NO_STORE
    return _body(session)


@router.delete(
    "",
    operation_id="session_delete",
    status_code=204,
    summary="Sign out: end the session and clear its cookie",
    responses=problem_responses(401, 403),
)
async def sign_out(
    session: CurrentSession, request: Request, container: ContainerDep, cookie: SessionCookie
) -> Response:
    if cookie:
        await run_in_threadpool(container.sessions.sign_out, cookie)
    response = Response(status_code=204)
    clear_session_cookie(response, secure=is_https(request, container.settings))
    return response
