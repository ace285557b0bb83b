"""/v1/folders: the folder tree of a workspace, and each folder's contents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.deps import ContainerDep, ReadWorkspace, WriteWorkspace
from api.openapi import problem_responses
from api.schemas import SearchHitOut
from assetlens.query import MAX_LIMIT
from assetlens.services.folders import Folder, FolderCreate, FolderDeletion, FolderPatch

router = APIRouter(prefix="/v1/folders", tags=["folders"])

FolderId = Annotated[str, Path(max_length=64, description="a folder id; `root` for contents")]


class FolderList(BaseModel):
    items: list[Folder]


class FolderContentsBody(BaseModel):
    folder: Folder | None
    subfolders: list[Folder]
    total: int
    items: list[SearchHitOut]
    next_cursor: str | None


@router.get(
    "",
    operation_id="folders_list",
    summary="Every folder of the workspace (flat)",
    responses=dict(problem_responses(401, 403, 503).items()),
)
async def list_folders(workspace: ReadWorkspace, container: ContainerDep) -> FolderList:
    folders = await run_in_threadpool(container.folders.list_folders, workspace)
    return FolderList(items=folders)


@router.post(
    "",
    status_code=201,
    operation_id="folders_create",
    summary="Create a folder",
    responses=dict(problem_responses(401, 403, 409, 422, 503).items()),
)
async def create_folder(
    body: Annotated[FolderCreate, Body()], workspace: WriteWorkspace, container: ContainerDep
) -> Folder:
    return await run_in_threadpool(container.folders.create, workspace, body)


@router.get(
    "/{folder_id}",
    operation_id="folders_get",
    summary="Get a folder",
    responses=dict(problem_responses(401, 403, 404, 422, 503).items()),
)
async def get_folder(
    folder_id: FolderId, workspace: ReadWorkspace, container: ContainerDep
) -> Folder:
    return await run_in_threadpool(container.folders.get, workspace, folder_id)


@router.patch(
    "/{folder_id}",
    operation_id="folders_update",
    summary="Rename and/or move a folder (`parent_id: null`: to the top level)",
    responses=dict(problem_responses(401, 403, 404, 409, 422, 503).items()),
)
async def update_folder(
    folder_id: FolderId,
    body: Annotated[FolderPatch, Body()],
    workspace: WriteWorkspace,
    container: ContainerDep,
) -> Folder:
    return await run_in_threadpool(container.folders.update, workspace, folder_id, body)


@router.delete(
    "/{folder_id}",
    operation_id="folders_delete",
    summary="Delete a folder (non-empty: 409 unless force, which trashes its assets)",
    responses=dict(problem_responses(401, 403, 404, 409, 422, 503).items()),
)
async def delete_folder(
    folder_id: FolderId,
    workspace: WriteWorkspace,
    container: ContainerDep,
    force: Annotated[
        bool, Query(description="also delete subfolders and move every asset below to the trash")
    ] = False,
) -> FolderDeletion:
    return await run_in_threadpool(container.folders.delete, workspace, folder_id, force=force)


@router.get(
    "/{folder_id}/contents",
    operation_id="folders_contents",
    summary="A folder's subfolders and a page of its assets (`root`: the top level)",
    responses=dict(problem_responses(401, 403, 404, 422, 503).items()),
)
async def folder_contents(
    folder_id: FolderId,
    workspace: ReadWorkspace,
    container: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    sort: Annotated[
        str | None, Query(max_length=40, description="e.g. `name`, `created_at:desc`")
    ] = None,
) -> FolderContentsBody:
    contents = await run_in_threadpool(
        lambda: container.folders.contents(
            workspace, folder_id, limit=limit, cursor=cursor, sort=sort
        )
    )
    return FolderContentsBody(
        folder=contents.folder,
        subfolders=contents.subfolders,
        total=contents.total,
        items=[SearchHitOut.of(hit) for hit in contents.hits],
        next_cursor=contents.next_cursor,
    )
