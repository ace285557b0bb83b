"""/v1/keys: a workspace admin lists, creates and revokes the workspace's API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.deps import Admin, ContainerDep
from api.openapi import problem_responses
from assetlens.access import Scope, implied, ordered
from assetlens.apikeys import MAX_NAME_CHARS, KeyInfo

router = APIRouter(prefix="/v1/keys", tags=["keys"])


class KeyOut(BaseModel):
    """An API key as listed: never the key itself. `scopes` includes implied scopes;
    `hint` is the key's first characters, to recognise it."""

    id: str
    name: str
    workspace: str
    scopes: list[Scope]
    created_at: datetime
    hint: str
    revoked_at: datetime | None


class KeyList(BaseModel):
    items: list[KeyOut]


class NewKeyOut(KeyOut):
    """A new key: `key` is shown this once and cannot be recovered."""

    key: str


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="", max_length=MAX_NAME_CHARS)
    scopes: list[Scope] = Field(min_length=1, max_length=3)


def _out(info: KeyInfo) -> KeyOut:
    return KeyOut(
        id=info.id,
        name=info.name,
        workspace=info.workspace,
        scopes=ordered(implied(info.scopes)),
        created_at=info.created_at,
        hint=info.hint,
        revoked_at=info.revoked_at,
    )


@router.get(
    "",
    operation_id="keys_list",
    summary="The workspace's API keys (revoked ones too)",
    responses=problem_responses(401, 403),
)
async def list_keys(caller: Admin, container: ContainerDep) -> KeyList:
    infos = await run_in_threadpool(container.keys.list, caller.workspace)
    return KeyList(items=[_out(info) for info in infos])


@router.post(
    "",
    operation_id="keys_create",
    status_code=201,
    summary="Create an API key (the plain key is in this response only)",
    responses=problem_responses(401, 403, 422),
)
async def create_key(
    body: Annotated[KeyCreate, Body()], caller: Admin, container: ContainerDep, response: Response
) -> NewKeyOut:
    new = await run_in_threadpool(
        container.keys.issue, caller.workspace, body.name, frozenset(body.scopes)
    )
    response.headers["Cache-Control"] = "no-store"
    return NewKeyOut(key=new.key, **_out(new.info).model_dump())


@router.delete(
    "/{key_id}",
    operation_id="keys_revoke",
    status_code=204,
    summary="Revoke an API key: it and its browser sessions get 401 from now on",
    responses=problem_responses(401, 403, 404),
)
async def revoke_key(key_id: str, caller: Admin, container: ContainerDep) -> Response:
    await run_in_threadpool(container.keys.revoke, caller.workspace, key_id)
    return Response(status_code=204)
