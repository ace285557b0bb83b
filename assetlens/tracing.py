"""OpenTelemetry tracing, only when an OTLP endpoint is configured.

Nothing here imports the SDK at module level: a deployment without an endpoint never loads
it. The API's middleware (api/middleware.py) opens one server span per request through the
`Tracing` this module builds; tests inject their own span exporter.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from assetlens.config import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer


class Tracing:
    """A tracer provider of its own (never the process-global one, so two apps in one
    process trace apart) and the tracer the API uses."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer: Tracer = provider.get_tracer("assetlens.api")

    def close(self) -> None:
        """Flush pending spans and stop the exporter."""
        self.provider.shutdown()


def endpoint_of(settings: Settings) -> str | None:
    """`ASSETLENS_OTEL_ENDPOINT`, else the standard `OTEL_EXPORTER_OTLP_ENDPOINT`."""
    return settings.otel_endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None


def build_tracing(settings: Settings, exporter: SpanExporter | None = None) -> Tracing | None:
    """Tracing to `exporter` (spans exported one by one: tests), or batched over
    OTLP/HTTP to the configured endpoint; None when neither is there."""
    endpoint = endpoint_of(settings)
    if exporter is None and endpoint is None:
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    from assetlens import __version__

    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": settings.otel_service_name, "service.version": __version__}
        )
    )
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif endpoint is not None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(
            BatchSpanProcessor(
                OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces", timeout=10)
            )
        )
    return Tracing(provider)
