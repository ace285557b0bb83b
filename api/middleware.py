"""The request's outer layer: request id, access log, HTTP metrics and the trace span.

One ASGI middleware (not BaseHTTPMiddleware: uploads stream through it untouched) that
wraps every HTTP request:

- `X-Request-ID`: the client's when sane (1–128 printable ASCII characters), else a new
  one; set in `assetlens.logs.request_id` for every log line of the request, and echoed
  on every response (problem responses set it themselves, see api.problems).
- one access log line at info (`assetlens.access`): method, route template, status,
  duration, request id and the API key's id (never the key).
- `assetlens_http_requests_total` and the duration histogram, labelled by route template
  (bounded cardinality: an unmatched path counts as `unmatched`).
- a server span when tracing is on, named `METHOD /route/{template}`.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from typing import TYPE_CHECKING

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assetlens.logs import request_id

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from assetlens.bootstrap import Container
    from assetlens.tracing import Tracing

access_log = logging.getLogger("assetlens.access")
HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[\x21-\x7e]{1,128}")


def incoming_request_id(scope: Scope) -> str | None:
    """The client's X-Request-ID, if it is 1–128 printable ASCII characters."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"x-request-id":
            text = value.decode("latin-1")
            return text if _SANE_ID.fullmatch(text) else None
    return None


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/v1/assets/{asset_id}`), never the raw path."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else "unmatched"


class ObservabilityMiddleware:
    """Request id, access log, metrics and tracing around every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = incoming_request_id(scope) or secrets.token_hex(16)
        # Not reset when the request ends: each request runs in its own task, and a 500
        # is answered (and logged) outside this middleware, still with the id.
        request_id.set(rid)
        container: Container | None = getattr(scope["app"].state, "container", None)
        tracing = container.tracing if container is not None else None
        span = None
        if tracing is not None:
            span = _start_span(tracing, scope)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                if HEADER not in headers:
                    headers.append(HEADER, rid)
            await send(message)

        try:
            if span is None:
                await self.app(scope, receive, send_with_id)
            else:
                from opentelemetry.trace import use_span

                with use_span(span, end_on_exit=False, record_exception=True):
                    await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route, method = route_template(scope), scope["method"]
            if container is not None:
                container.metrics.request(route, method, status, elapsed)
            if span is not None:
                _end_span(span, route, method, status)
            key_id = scope.get("state", {}).get("key_id")
            access_log.info(
                "%s %s %d %.1fms",
                method,
                route,
                status,
                elapsed * 1000,
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                    "key_id": key_id,
                    "request_id": rid,
                },
            )


def _start_span(tracing: Tracing, scope: Scope) -> Span:
    from opentelemetry.propagate import extract
    from opentelemetry.trace import SpanKind

    carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
    return tracing.tracer.start_span(
        scope["method"],
        context=extract(carrier),
        kind=SpanKind.SERVER,
        attributes={"http.request.method": scope["method"], "url.path": scope["path"]},
    )


def _end_span(span: Span, route: str, method: str, status: int) -> None:
    from opentelemetry.trace import Status, StatusCode

    span.update_name(f"{method} {route}")
    span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))
    span.end()
