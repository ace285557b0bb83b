"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import openapi, problems
from api.limits import BodyLimitMiddleware
from api.middleware import ObservabilityMiddleware
from api.routes import (
    assets,
    bulk,
    collections,
    docs,
    folders,
    keys,
    links,
    listing,
    metrics,
    references,
    search,
    session,
    stats,
    system,
    tags,
    trash,
    ui,
    url_import,
    versions,
    workspace_settings,
)
from assetlens import __version__
from assetlens.bootstrap import Container, build
from assetlens.config import Settings
from assetlens.errors import Unavailable

log = logging.getLogger(__name__)

DESCRIPTION = """
Assetlens keeps AI-generated media — images, video, audio, fonts, logos, prompts — and finds
it again by prompt text, visual similarity (CLIP) and facets.

Authenticate with `Authorization: Bearer <api key>` (`assetlens keys create --workspace NAME`),
or from a browser with the session cookie of `POST /v1/session` (writes then need the
`X-CSRF-Token` header).
Errors are RFC 9457 `application/problem+json`.
"""


def create_app(
    container: Container | None = None,
    settings: Settings | None = None,
    *,
    run_indexer: bool | None = None,
) -> FastAPI:
    """Build the app. With no container, one is built from settings at startup (not at
    import). The indexer runs in-process when settings say so (embedded mode)."""
    settings = container.settings if container else (settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = container is None
        wired = container or build(settings)
        try:
            wired.index.ensure()
        except Unavailable as exc:
            # Serve anyway: uploads don't need the index, search answers 503 until it is back.
            log.warning("search index not ready at startup: %s", exc.detail)
        wired.sweep_spool()
        try:
            wired.sessions.purge_expired()
        except Unavailable as exc:
            log.warning("expired sessions not purged at startup: %s", exc.detail)
        wired.preload_embedder()
        wired.preload_prover()
        wired.preload_index()
        app.state.container = wired
        in_process = settings.indexer_in_process if run_indexer is None else run_indexer
        if in_process:
            wired.start_indexer_thread()
        try:
            yield
        finally:
            if owned:
                wired.close()

    app = FastAPI(
        title="Assetlens",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(
        BodyLimitMiddleware,
        upload_limit=settings.max_upload_bytes + (1 << 20),
        json_limit=settings.max_json_body_bytes,
        json_depth=settings.max_json_depth,
        idle_timeout=settings.body_idle_timeout_seconds,
    )
    # Added last, so it is outermost: it times, logs and labels what the limits refuse too.
    app.add_middleware(ObservabilityMiddleware)
    problems.install(app)
    openapi.install(app)
    app.include_router(system.router)
    app.include_router(metrics.router)
    app.include_router(bulk.router)  # before /v1/assets/{asset_id}
    app.include_router(listing.router)
    app.include_router(url_import.router)  # before /v1/assets/{asset_id}
    app.include_router(assets.router)
    app.include_router(references.router)
    app.include_router(workspace_settings.router)
    app.include_router(versions.router)
    app.include_router(trash.router)
    app.include_router(links.router)
    app.include_router(search.router)
    app.include_router(folders.router)
    app.include_router(tags.router)
    app.include_router(collections.router)
    app.include_router(session.router)
    app.include_router(keys.router)
    app.include_router(stats.router)
    docs.install(app)
    # Last, so every /v1 route and the docs win over the UI's paths.
    app.include_router(ui.router)
    return app
