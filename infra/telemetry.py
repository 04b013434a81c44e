"""OpenTelemetry tracing: OTLP export to Jaeger and W3C context in message headers."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)

_provider: TracerProvider | None = None
# Per export, retries included. The exporter's default (10 s of retries with backoff) made
# every CLI command hang ~7 s at exit while Jaeger was down; tracing is best effort, so a
# collector that does not answer on loopback within 2 s costs that batch of spans, no more.
EXPORT_TIMEOUT_S = 2.0


def _sampler(name: str, arg: str | None) -> Sampler:
    ratio = float(arg) if arg else 1.0
    base: dict[str, Sampler] = {
        "always_on": ALWAYS_ON, "always_off": ALWAYS_OFF,
        "traceidratio": TraceIdRatioBased(ratio),
    }
    if name.startswith("parentbased_"):
        return ParentBased(base.get(name.removeprefix("parentbased_"), ALWAYS_ON))
    return base.get(name, ParentBased(ALWAYS_ON))


def init_tracing(service: str, endpoint: str, sampler: str = "parentbased_always_on") -> None:
    """Install a global tracer provider exporting to `endpoint` (OTLP gRPC); idempotent."""
    global _provider
    if _provider is not None or os.environ.get("TRACKTION_TRACING") == "off":
        return
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": service}),
                              sampler=_sampler(sampler, os.environ.get("OTEL_TRACES_SAMPLER_ARG")))
    provider.add_span_processor(BatchSpanProcessor(
        OTLPSpanExporter(endpoint=endpoint, insecure=True, timeout=EXPORT_TIMEOUT_S),
        max_queue_size=65536, schedule_delay_millis=500))
    trace.set_tracer_provider(provider)
    _provider = provider


def flush_tracing() -> None:
    """Export buffered spans now, keeping the provider usable (for long-lived callers)."""
    if _provider is not None:
        _provider.force_flush(timeout_millis=5000)


def shutdown_tracing() -> None:
    """Flush spans still buffered (called on graceful shutdown, so no span is lost)."""
    if _provider is not None:
        _provider.force_flush(timeout_millis=5000)
        _provider.shutdown()


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def inject(context: Context | None = None) -> dict[str, str]:
    """The W3C `traceparent` (and `tracestate`) of the current or given context, as headers."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=context)
    return carrier


def extract_from_kafka(headers: Iterable[tuple[str, bytes]] | None) -> Context:
    carrier = {k: v.decode("latin-1") for k, v in headers or () if v is not None}
    return propagate.extract(carrier)


def extract_from_mapping(headers: Mapping[str, Any] | None) -> Context:
    carrier = {k: (v.decode("latin-1") if isinstance(v, bytes) else str(v))
               for k, v in (headers or {}).items()}
    return propagate.extract(carrier)


def event_attributes(correlation_id: str, file_id: str, event_id: str) -> dict[str, str]:
    """The attributes every span of the pipeline carries, so traces can be found by any id."""
    return {"correlation_id": correlation_id, "file_id": file_id, "event_id": event_id}
