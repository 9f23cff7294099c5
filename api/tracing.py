"""OpenTelemetry traces, only when ``settings.otlp_endpoint`` is set.

The SDK, the OTLP exporter and the FastAPI instrumentation are optional packages (not dependencies
of this project). Configured and importable: the app is instrumented. Configured and not importable:
start-up fails with a message naming the packages, rather than silently running without traces.
"""

from __future__ import annotations

from fastapi import FastAPI

from autocrm.core.errors import AutoCRMError

PACKAGES = (
    "opentelemetry-sdk opentelemetry-exporter-otlp-proto-http opentelemetry-instrumentation-fastapi"
)


class TracingUnavailable(AutoCRMError):
    """Tracing is configured but its packages are not installed."""


def setup_tracing(app: FastAPI, *, endpoint: str, service_name: str = "autocrm-api") -> bool:
    """Instrument ``app`` when ``endpoint`` is set; True when traces are exported."""
    if not endpoint:
        return False
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise TracingUnavailable(
            f"AUTOCRM_OTLP_ENDPOINT is set ({endpoint}) but OpenTelemetry is not installed "
            f"({exc.name} is missing); pip install {PACKAGES}, or unset AUTOCRM_OTLP_ENDPOINT"
        ) from exc
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider)
    return True
