"""/v1/collections: named, ordered sets of assets, shared with other workspaces (view/edit),
and the shared views of their assets. Who may do what is decided by CollectionService."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api.collection_schemas import (
    CollectionItemsPage,
    CollectionList,
    CollectionOut,
)
from api.content import caller_channel, content_response, preview_response, usage_hook
from api.deps import ContainerDep, Reader, ReadWorkspace, WriteWorkspace
from api.openapi import (
    binary_responses,
    conditional_request,
    file_responses,
    problem_responses,
)
from api.schemas import AssetOut, SearchPageOut
from assetlens.services.collection_inputs import (
    MAX_PAGE,
    CollectionCreate,
    CollectionPatch,
    ItemsAdd,
    ItemsOrder,
    ShareSet,
    TagsSet,
)
from assetlens.services.search import SearchRequest

router = APIRouter(prefix="/v1/collections", tags=["collections"])

# Every route: 401 without a key, 404 for a collection that is missing or not shared with
# the caller, 503 when a backend is down. Writes add 403 (key scope or role too small).
_READ = problem_responses(401, 404, 422, 503)
_WRITE = problem_responses(401, 403, 404, 422, 503)


@router.get(
    "",
    operation_id="collections_list",
    response_model=CollectionList,
    summary="Your collections, then those shared with you (each with your role)",
    responses=problem_responses(401, 503),
)
async def list_collections(workspace: ReadWorkspace, container: ContainerDep) -> CollectionList:
    found = await run_in_threadpool(container.collections.list_for, workspace)
    return CollectionList(items=[CollectionOut.of(access) for access in found])


@router.post(
    "",
    status_code=201,
    operation_id="collections_create",
    response_model=CollectionOut,
    summary="Create a collection",
    responses=problem_responses(401, 403, 422, 503),
)
async def create_collection(
    body: Annotated[CollectionCreate, Body()], workspace: WriteWorkspace, container: ContainerDep
) -> CollectionOut:
    access = await run_in_threadpool(container.collections.create, workspace, body)
    return CollectionOut.of(access)


@router.get(
    "/{collection_id}",
    operation_id="collections_get",
    response_model=CollectionOut,
    summary="A collection (owner, editors, viewers)",
    responses=_READ,
)
async def get_collection(
    collection_id: str, workspace: ReadWorkspace, container: ContainerDep
) -> CollectionOut:
    access = await run_in_threadpool(container.collections.get, workspace, collection_id)
    return CollectionOut.of(access)


@router.patch(
    "/{collection_id}",
    operation_id="collections_update",
    response_model=CollectionOut,
    summary="Rename or describe (owner only)",
    responses=_WRITE,
)
async def update_collection(
    collection_id: str,
    body: Annotated[CollectionPatch, Body()],
    workspace: WriteWorkspace,
    container: ContainerDep,
) -> CollectionOut:
    access = await run_in_threadpool(container.collections.update, workspace, collection_id, body)
    return CollectionOut.of(access)


@router.delete(
    "/{collection_id}",
    status_code=204,
    operation_id="collections_delete",
    summary="Delete a collection and its shares, not its assets (owner only)",
    responses=_WRITE,
)
async def delete_collection(
    collection_id: str, workspace: WriteWorkspace, container: ContainerDep
) -> Response:
    await run_in_threadpool(container.collections.delete, workspace, collection_id)
    return Response(status_code=204)


@router.get(
    "/{collection_id}/items",
    operation_id="collections_items",
    response_model=CollectionItemsPage,
    summary="The collection's assets in order (trashed and deleted ones skipped)",
    responses=_READ,
)
async def list_items(
    collection_id: str,
    workspace: ReadWorkspace,
    container: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> CollectionItemsPage:
    page = await run_in_threadpool(
        container.collections.items, workspace, collection_id, limit, cursor
    )
    return CollectionItemsPage.of(page)


@router.post(
    "/{collection_id}/items",
    operation_id="collections_add_items",
    response_model=CollectionOut,
    summary="Add assets, at the end or at `position` (owner, editors)",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def add_items(
    collection_id: str,
    body: Annotated[ItemsAdd, Body()],
    workspace: WriteWorkspace,
    container: ContainerDep,
) -> CollectionOut:
    access = await run_in_threadpool(
        container.collections.add_items, workspace, collection_id, body
    )
    return CollectionOut.of(access)


@router.put(
    "/{collection_id}/items/order",
    operation_id="collections_reorder",
    response_model=CollectionOut,
    summary="Reorder: the listed assets first, in that order (owner, editors)",
    responses=_WRITE,
)
async def reorder_items(
    collection_id: str,
    body: Annotated[ItemsOrder, Body()],
    workspace: WriteWorkspace,
    container: ContainerDep,
) -> CollectionOut:
    access = await run_in_threadpool(container.collections.reorder, workspace, collection_id, body)
    return CollectionOut.of(access)


@router.delete(
    "/{collection_id}/items/{asset_id}",
    status_code=204,
    operation_id="collections_remove_item",
    summary="Remove an asset from the collection, not from the library (owner, editors)",
    responses=_WRITE,
)
async def remove_item(
    collection_id: str, asset_id: str, workspace: WriteWorkspace, container: ContainerDep
) -> Response:
    await run_in_threadpool(container.collections.remove_item, workspace, collection_id, asset_id)
    return Response(status_code=204)


@router.put(
    "/{collection_id}/shares/{grantee}",
    operation_id="collections_share",
    response_model=CollectionOut,
    summary="Share with another workspace, or change its role (owner only)",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def share(
    collection_id: str,
    grantee: str,
    body: Annotated[ShareSet, Body()],
    workspace: WriteWorkspace,
    container: ContainerDep,
) -> CollectionOut:
    access = await run_in_threadpool(
        container.collections.share, workspace, collection_id, grantee, body
    )
    return CollectionOut.of(access)


@router.delete(
    "/{collection_id}/shares/{grantee}",
    status_code=204,
    operation_id="collections_unshare",
    summary="Revoke a share; effective on the grantee's next request (owner only)",
    responses=_WRITE,
)
async def unshare(
    collection_id: str, grantee: str, workspace: WriteWorkspace, container: ContainerDep
) -> Response:
    await run_in_threadpool(container.collections.unshare, workspace, collection_id, grantee)
    return Response(status_code=204)


@router.get(
    "/{collection_id}/assets/{asset_id}",
    operation_id="collections_asset",
    response_model=AssetOut,
    summary="An asset of the collection",
    responses=_READ,
)
async def get_asset(
    collection_id: str, asset_id: str, workspace: ReadWorkspace, container: ContainerDep
) -> AssetOut:
    asset = await run_in_threadpool(container.collections.asset, workspace, collection_id, asset_id)
    return AssetOut.of(asset)


@router.get(
    "/{collection_id}/assets/{asset_id}/content",
    operation_id="collections_content",
    summary="The original file of an asset of the collection (ETag, Range)",
    response_class=Response,
    openapi_extra=conditional_request(ranges=True),
    responses={
        **file_responses("The file, served with its own media type", ranges=True),
        **problem_responses(401, 404, 416, 422, 503),
    },
)
async def asset_content(
    collection_id: str, asset_id: str, request: Request, caller: Reader, container: ContainerDep
) -> Response:
    asset = await run_in_threadpool(
        container.collections.asset, caller.workspace, collection_id, asset_id
    )
    # Counted in the owner's workspace (the asset's), like any use of its content.
    return await content_response(
        request,
        container.assets,
        asset,
        on_use=usage_hook(container.usage, asset, caller_channel(caller)),
    )


@router.get(
    "/{collection_id}/assets/{asset_id}/thumbnail",
    operation_id="collections_thumbnail",
    response_class=Response,
    openapi_extra=conditional_request(ranges=False),
    summary="A WebP preview of an asset of the collection",
    responses={
        **binary_responses("image/webp", "The preview", ranges=False),
        **problem_responses(401, 404, 422, 503),
    },
)
async def asset_thumbnail(
    collection_id: str,
    asset_id: str,
    request: Request,
    workspace: ReadWorkspace,
    container: ContainerDep,
    size: Annotated[str, Query(pattern="^(small|medium)$")] = "small",
) -> Response:
    asset, data = await run_in_threadpool(
        container.collections.preview, workspace, collection_id, asset_id, size
    )
    return preview_response(request, asset, data, size)


@router.patch(
    "/{collection_id}/assets/{asset_id}/tags",
    operation_id="collections_set_tags",
    response_model=AssetOut,
    summary="Replace the tags of an asset of the collection (owner, editors)",
    responses=_WRITE,
)
async def set_tags(
    collection_id: str,
    asset_id: str,
    body: Annotated[TagsSet, Body()],
    workspace: WriteWorkspace,
    container: ContainerDep,
) -> AssetOut:
    asset = await run_in_threadpool(
        container.collections.set_tags, workspace, collection_id, asset_id, body
    )
    return AssetOut.of(asset)


@router.post(
    "/{collection_id}/search",
    operation_id="collections_search",
    response_model=SearchPageOut,
    summary="Search within the collection (the body of POST /v1/search)",
    responses=problem_responses(401, 404, 422, 503),
)
async def search(
    collection_id: str,
    body: Annotated[SearchRequest, Body()],
    workspace: ReadWorkspace,
    container: ContainerDep,
) -> SearchPageOut:
    page = await run_in_threadpool(container.collections.search, workspace, collection_id, body)
    return SearchPageOut.of(page)
