"""/docs (Swagger UI) and /redoc (ReDoc) with their assets served from this server, so the
API documentation loads nothing from the internet."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PATH = "/static/docs"
router = APIRouter(include_in_schema=False)


def assets_directory() -> Path:
    """The Swagger UI and ReDoc bundles shipped by the `fastapi-offline` package."""
    return Path(str(files("fastapi_offline") / "static"))


def install(app: FastAPI) -> None:
    """Serve the documentation pages and their assets (call with docs_url=None and
    redoc_url=None given to FastAPI)."""
    app.mount(ASSETS_PATH, StaticFiles(directory=assets_directory()), name="docs-assets")
    app.include_router(router)


def _url(request: Request, path: str) -> str:
    # Behind a proxy that mounts the API under a prefix, links must carry it.
    return f"{request.scope.get('root_path', '')}{path}"


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=_url(request, request.app.openapi_url),
        title=f"{request.app.title} — Swagger UI",
        swagger_js_url=_url(request, f"{ASSETS_PATH}/swagger-ui-bundle.js"),
        swagger_css_url=_url(request, f"{ASSETS_PATH}/swagger-ui.css"),
        swagger_favicon_url=_url(request, f"{ASSETS_PATH}/favicon.png"),
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(
        openapi_url=_url(request, request.app.openapi_url),
        title=f"{request.app.title} — ReDoc",
        redoc_js_url=_url(request, f"{ASSETS_PATH}/redoc.standalone.js"),
        redoc_favicon_url=_url(request, f"{ASSETS_PATH}/favicon.png"),
        with_google_fonts=False,
    )
