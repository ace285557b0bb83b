"""Signed links: make one for an asset (`POST /v1/assets/{id}/signed-url`) and serve it
without a key (`GET /v1/signed/{token}`: the signature is the credential)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from api.browser import own_origin
from api.content import (
    content_response,
    preview_response,
    starts_a_fetch,
    usage_hook,
    use_kind,
)
from api.deps import ContainerDep, ReadWorkspace
from api.link_schemas import SignedUrlIn, SignedUrlOut
from api.openapi import PUBLIC, conditional_request, file_responses, problem_responses
from assetlens.signing import Rendition
from assetlens.usage import Channel

router = APIRouter(tags=["signed links"])

# Browsers may cache a signed response, never longer than an hour nor than the link lives;
# the token must not leak to other sites through Referer, nor land in search engines.
_MAX_CACHE = 3600
_PRIVATE = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow"}

_BINARY: dict[int | str, dict[str, Any]] = {
    **file_responses("The file (its own media type) or its WebP preview", ranges=True),
    307: {"description": "Redirect to a store presigned URL (signed_url_redirect)"},
}


@router.post(
    "/v1/assets/{asset_id}/signed-url",
    operation_id="assets_signed_url",
    summary="Make an expiring link that serves the asset without a key",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def signed_url(
    asset_id: str,
    body: Annotated[SignedUrlIn, Body()],
    request: Request,
    workspace: ReadWorkspace,
    container: ContainerDep,
) -> SignedUrlOut:
    rendition = Rendition(body.thumbnail) if body.thumbnail else Rendition.CONTENT
    link = await run_in_threadpool(
        container.links.sign,
        workspace,
        asset_id,
        expires_in=body.expires_in,
        disposition=body.disposition,
        rendition=rendition,
    )
    path = request.url_for("signed_get", token=link.token).path
    origin = own_origin(request, container.settings) or str(request.base_url).rstrip("/")
    return SignedUrlOut(url=f"{origin}{path}", expires_at=link.expires_at)


@router.get(
    "/v1/signed/{token}",
    operation_id="signed_get",
    name="signed_get",
    summary="Serve a signed link (no key: the signature is the credential)",
    response_class=Response,
    openapi_extra={**PUBLIC, **conditional_request(ranges=True)},
    responses={**_BINARY, **problem_responses(403, 404, 416, 422, 503)},
)
async def signed_get(token: str, request: Request, container: ContainerDep) -> Response:
    target = await run_in_threadpool(container.links.open, token)
    max_age = min(_MAX_CACHE, target.remaining_seconds)
    if target.rendition is Rendition.CONTENT:
        on_use = usage_hook(container.usage, target.asset, Channel.SIGNED_LINK)
        redirect = await run_in_threadpool(container.links.redirect_url, target)
        if redirect is not None:
            # The store serves the bytes: the use is counted here, on the way there.
            if starts_a_fetch(request):
                on_use(use_kind(target.asset, target.disposition))
            return RedirectResponse(
                redirect, status_code=307, headers={"Cache-Control": "no-store", **_PRIVATE}
            )
        return await content_response(
            request,
            container.assets,
            target.asset,
            disposition=target.disposition,
            max_age=max_age,
            extra_headers=_PRIVATE,
            on_use=on_use,
        )
    data = await run_in_threadpool(container.links.preview, target)
    return preview_response(
        request, target.asset, data, target.rendition.value, max_age=max_age, extra_headers=_PRIVATE
    )
