"""/v1/tags: the tags in use, with counts; rename (merging) and delete everywhere."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.deps import ContainerDep, ReadWorkspace, WriteWorkspace
from api.openapi import problem_responses
from assetlens.services.tags import MAX_TAGS_LISTED, TagCount, TagRename

router = APIRouter(prefix="/v1/tags", tags=["tags"])

# `:path` so a tag containing `/` (sent as %2F) still reaches the route.
TAG_PATH = "/{name:path}"


class TagList(BaseModel):
    items: list[TagCount]


class TagChange(BaseModel):
    changed: int


@router.get(
    "",
    operation_id="tags_list",
    summary="Tags in use with their asset counts",
    responses=dict(problem_responses(401, 403, 422, 503).items()),
)
async def list_tags(
    workspace: ReadWorkspace,
    container: ContainerDep,
    prefix: Annotated[str, Query(max_length=256, description="compared normalised")] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_TAGS_LISTED)] = 100,
) -> TagList:
    tags = await run_in_threadpool(
        lambda: container.tags.list_tags(workspace, prefix=prefix, limit=limit)
    )
    return TagList(items=tags)


@router.patch(
    TAG_PATH,
    operation_id="tags_rename",
    summary="Rename a tag on every asset (merging into an existing tag)",
    responses=dict(problem_responses(401, 403, 404, 422, 503).items()),
)
async def rename_tag(
    name: str,
    body: Annotated[TagRename, Body()],
    workspace: WriteWorkspace,
    container: ContainerDep,
) -> TagChange:
    changed = await run_in_threadpool(container.tags.rename, workspace, name, body.name)
    return TagChange(changed=changed)


@router.delete(
    TAG_PATH,
    operation_id="tags_delete",
    summary="Remove a tag from every asset",
    responses=dict(problem_responses(401, 403, 404, 422, 503).items()),
)
async def delete_tag(name: str, workspace: WriteWorkspace, container: ContainerDep) -> TagChange:
    changed = await run_in_threadpool(container.tags.delete, workspace, name)
    return TagChange(changed=changed)
