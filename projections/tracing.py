"""Spans for projection writes: one per traced event per store, child of the event's trace.

A batch mixes events of many traces, so the write itself cannot be one child span; each
event that arrived with a `traceparent` gets a span covering the batch write that applied it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from infra.telemetry import event_attributes, extract_from_kafka
from projections.base import Positioned

_tracer = trace.get_tracer("tracktion.projections")


def traced_headers(records: Iterable[Sequence[Any]]) -> dict[tuple[str, int, int], Any]:
    """Headers of fetched records that carry trace context, by position."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        return {}  # tracing not configured in this process: skip the work entirely
    out = {}
    for batch in records:
        for record in batch:
            headers = record.headers or ()
            if any(key == "traceparent" for key, _ in headers):
                out[(record.topic, record.partition, record.offset)] = headers
    return out


def record_write_spans(projection: str, events: Sequence[Positioned],
                       headers: dict[tuple[str, int, int], Any], start_ns: int,
                       end_ns: int) -> None:
    for item in events:
        found = headers.get((item.topic, item.partition, item.offset))
        if found is None:
            continue
        event = item.event
        span = _tracer.start_span(
            f"project {projection}", context=extract_from_kafka(found), start_time=start_ns,
            attributes={**event_attributes(event.correlation_id, event.file_id, event.event_id),
                        "event_type": event.event_type, "projection": projection})
        span.end(end_time=end_ns)
