"""/v1/assets: upload, read, edit, trash, restore, content, thumbnails, similar."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Body, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.content import caller_channel, content_response, preview_response, usage_hook
from api.deps import ContainerDep, Reader, ReadWorkspace, UploadWorkspace, WriteWorkspace
from api.multipart import Form, read_form
from api.openapi import (
    binary_responses,
    conditional_request,
    file_responses,
    multipart_body,
    problem_responses,
)
from api.schemas import AssetOut, DuplicatesOut, HitsOut, NearDuplicateOut
from assetlens import media
from assetlens.domain import Asset
from assetlens.errors import InvalidInput, PreconditionFailed, UnsupportedMediaType
from assetlens.services.asset_inputs import AssetPatch, upload_form
from assetlens.services.assets import Submitted
from assetlens.services.idempotency_records import parse_key as parse_idempotency_key
from assetlens.signing import Disposition
from assetlens.spool import Spooled

router = APIRouter(prefix="/v1/assets", tags=["assets"])

WaitFlag = Annotated[bool, Query(description="return once the change is searchable (bounded)")]
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="1-255 printable ASCII characters: a retry with the same key and request "
        "answers the first asset (header Idempotent-Replayed), never a second one",
    ),
]
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def etag_of(asset: Asset) -> str:
    return f'"r{asset.revision}"'


def asset_response(asset: Asset, status: int = 200) -> JSONResponse:
    return JSONResponse(asset.public(), status_code=status, headers={"ETag": etag_of(asset)})


def upload_limit_for(container: ContainerDep) -> Callable[[str], int]:
    """The byte limit of an upload's file by its name's extension (415 for a type not
    allowed)."""

    def limit(filename: str) -> int:
        found = media.classify_extension(filename)
        if found is None:
            allowed = ", ".join(sorted(media.ALLOWED_EXTENSIONS))
            raise UnsupportedMediaType(f"file type not allowed; allowed extensions: {allowed}")
        return container.settings.max_bytes_for(found[0].value)

    return limit


_TEXT = {"type": "string"}
# The asset's revision: send it back as If-Match to edit only what was read.
_ETAG = {
    "headers": {
        "ETag": {"description": 'the revision, e.g. "r3" (If-Match)', "schema": {"type": "string"}}
    }
}


@router.post(
    "",
    status_code=201,
    summary="Upload an asset (multipart)",
    operation_id="assets_upload",
    response_model=AssetOut,
    responses={
        201: _ETAG,
        200: {
            "model": AssetOut,
            "description": "A duplicate under the `link` "
            "policy: nothing stored, the original (X-Duplicate-Of)",
        },
        **problem_responses(401, 403, 409, 413, 415, 422, 503),
    },
    openapi_extra=multipart_body(
        name=_TEXT,
        description=_TEXT,
        tags={
            "type": "array",
            "items": {"type": "string"},
            "description": "one tag per `tags` field; a single field is "
            "comma-separated (`-F tags=a,b`)",
        },
        tags_json={
            "type": "string",
            "description": "instead of `tags`: a JSON array of strings, "
            'each one tag, commas included (`["a,b"]`)',
        },
        folder_id=_TEXT,
        prompt=_TEXT,
        metadata={"type": "string", "description": "a JSON object"},
        type={"type": "string", "description": "e.g. logo for a PNG logo"},
        source=_TEXT,
    ),
)
async def upload(
    request: Request,
    workspace: UploadWorkspace,
    container: ContainerDep,
    wait: WaitFlag = False,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    key = parse_idempotency_key(idempotency_key)
    form, file = await read_upload(request, container)
    try:
        fields = upload_form(
            {**form.fields, "tags": form.values.get("tags", [])},
            max_json_depth=container.settings.max_json_depth,
        )
        submitted = await run_in_threadpool(
            container.idempotency.upload, workspace, key, file, fields
        )
    finally:
        form.discard()
    return await submitted_response(container, submitted, wait)


async def read_upload(request: Request, container: ContainerDep) -> tuple[Form, Spooled]:
    """The multipart body of an upload or a new version, spooled under the per-type limits,
    and its required `file`. Call `form.discard()` when done."""
    settings = container.settings
    form = await read_form(
        request,
        spool_dir=settings.data_dir / "tmp" / "uploads",
        file_field="file",
        file_limit=upload_limit_for(container),
        max_field_bytes=settings.max_form_field_bytes,
    )
    if form.file is None:
        form.discard()
        raise InvalidInput("the multipart field `file` is required")
    return form, form.file


async def submitted_response(
    container: ContainerDep, submitted: Submitted, wait: bool
) -> JSONResponse:
    """201 with the new asset (searchable first with `wait`); under the `link` duplicate
    policy nothing new was stored: 200 with the original and `X-Duplicate-Of`."""
    asset = submitted.asset
    if submitted.linked:
        response = asset_response(asset)
        response.headers["X-Duplicate-Of"] = asset.id
    else:
        if wait:
            asset = await wait_indexed(container, asset)
        response = asset_response(asset, status=201)
    if submitted.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


async def wait_indexed(container: ContainerDep, asset: Asset) -> Asset:
    """Poll (bounded) until the change is searchable; sleeping on the event loop, so
    waiting clients hold no worker thread. Returns the latest manifest either way."""
    deadline = time.monotonic() + container.settings.wait_timeout_seconds
    delay = 0.02
    while True:
        latest, done = await run_in_threadpool(
            container.assets.visibility.indexed, asset.workspace, asset.id
        )
        if done or time.monotonic() >= deadline:
            return latest
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.25)


@router.get(
    "/{asset_id}",
    operation_id="assets_get",
    summary="Get an asset (ETag)",
    response_model=AssetOut,
    responses={200: _ETAG, **problem_responses(401, 404, 422, 503)},
)
async def get_asset(
    asset_id: str, workspace: ReadWorkspace, container: ContainerDep
) -> JSONResponse:
    asset = await run_in_threadpool(container.assets.get, workspace, asset_id)
    return asset_response(asset)


def _expected_revision(if_match: str | None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    # Revisions are small: a number of many digits names none (and is never converted).
    match = re.fullmatch(r'\s*(?:W/)?"r(\d{1,18})"\s*', if_match)
    if not match:
        raise PreconditionFailed("If-Match does not name a version of this asset")
    return int(match.group(1))


@router.patch(
    "/{asset_id}",
    operation_id="assets_update",
    summary="Edit an asset (If-Match for optimistic concurrency)",
    response_model=AssetOut,
    responses={200: _ETAG, **problem_responses(401, 403, 404, 412, 413, 422, 503)},
)
async def patch_asset(
    asset_id: str,
    patch: Annotated[AssetPatch, Body()],
    workspace: WriteWorkspace,
    container: ContainerDep,
    if_match: Annotated[str | None, Header()] = None,
    wait: WaitFlag = False,
) -> JSONResponse:
    asset = await run_in_threadpool(
        container.assets.update, workspace, asset_id, patch, _expected_revision(if_match)
    )
    if wait:
        asset = await wait_indexed(container, asset)
    return asset_response(asset)


@router.delete(
    "/{asset_id}",
    operation_id="assets_delete",
    summary="Move an asset to the trash (409 while referenced)",
    response_model=AssetOut,
    responses={200: _ETAG, **problem_responses(401, 403, 404, 409, 422, 503)},
)
async def delete_asset(
    asset_id: str,
    workspace: WriteWorkspace,
    container: ContainerDep,
    wait: WaitFlag = False,
    force: Annotated[bool, Query(description="also remove the asset's references")] = False,
) -> JSONResponse:
    asset = await run_in_threadpool(
        container.references.delete_asset, workspace, asset_id, force=force
    )
    if wait:
        asset = await wait_indexed(container, asset)
    return asset_response(asset)


@router.post(
    "/{asset_id}/restore",
    operation_id="assets_restore",
    summary="Restore an asset from the trash",
    response_model=AssetOut,
    responses={200: _ETAG, **problem_responses(401, 403, 404, 422, 503)},
)
async def restore_asset(
    asset_id: str, workspace: WriteWorkspace, container: ContainerDep, wait: WaitFlag = False
) -> JSONResponse:
    asset = await run_in_threadpool(container.assets.restore, workspace, asset_id)
    if wait:
        asset = await wait_indexed(container, asset)
    return asset_response(asset)


@router.get(
    "/{asset_id}/content",
    operation_id="assets_content",
    summary="The original file (ETag, Range)",
    response_class=Response,
    openapi_extra=conditional_request(ranges=True),
    responses={
        **file_responses("The file, served with its own media type", ranges=True),
        **problem_responses(401, 404, 416, 422, 503),
    },
)
async def content(
    asset_id: str,
    request: Request,
    caller: Reader,
    container: ContainerDep,
    download: Annotated[
        bool, Query(description="serve as an attachment (counted as a download)")
    ] = False,
) -> Response:
    asset = await run_in_threadpool(container.assets.get, caller.workspace, asset_id)
    disposition = Disposition.ATTACHMENT if download else Disposition.INLINE
    return await content_response(
        request,
        container.assets,
        asset,
        disposition=disposition,
        on_use=usage_hook(container.usage, asset, caller_channel(caller)),
    )


@router.get(
    "/{asset_id}/thumbnail",
    operation_id="assets_thumbnail",
    summary="A WebP preview (small 150 px, medium 600 px)",
    response_class=Response,
    openapi_extra=conditional_request(ranges=False),
    responses={
        **binary_responses("image/webp", "The preview", ranges=False),
        **problem_responses(401, 404, 422, 503),
    },
)
async def thumbnail(
    asset_id: str,
    request: Request,
    workspace: ReadWorkspace,
    container: ContainerDep,
    size: Annotated[str, Query(pattern="^(small|medium)$")] = "small",
) -> Response:
    asset, data = await run_in_threadpool(container.assets.preview, workspace, asset_id, size)
    return preview_response(request, asset, data, size)


@router.get(
    "/{asset_id}/similar",
    operation_id="assets_similar",
    summary="Visually similar assets (CLIP)",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def similar(
    asset_id: str,
    workspace: ReadWorkspace,
    container: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> HitsOut:
    hits = await run_in_threadpool(container.search.similar, workspace, asset_id, limit)
    return HitsOut.of(hits)


@router.get(
    "/{asset_id}/duplicates",
    operation_id="assets_duplicates",
    summary="Exact (same bytes) and near duplicates (pHash, CLIP) in this workspace",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def duplicates(
    asset_id: str, workspace: ReadWorkspace, container: ContainerDep
) -> DuplicatesOut:
    found = await run_in_threadpool(container.duplicates.find, workspace, asset_id)
    return DuplicatesOut(
        exact=[AssetOut.of(asset) for asset in found.exact],
        near=[
            NearDuplicateOut(
                asset=AssetOut.of(n.asset), phash_distance=n.phash_distance, clip_score=n.clip_score
            )
            for n in found.near
        ],
    )
