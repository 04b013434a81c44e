"""Pure routing of one AMQP message: to which Kafka topic, with which key and headers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas import headers as h
from schemas.codec import decode
from schemas.envelope import SchemaError
from schemas.topics import deadletter_topic, lane_topic

# Headers copied from AMQP to Kafka; everything else stays behind.
_CARRIED = (h.TRACEPARENT, h.TRACESTATE)


@dataclass(frozen=True)
class Route:
    topic: str
    key: bytes | None
    headers: list[tuple[str, bytes]]
    deadletter_reason: str | None = None


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def route(body: bytes, amqp_headers: Mapping[str, Any] | None, prefix: str) -> Route:
    """Validate the event fully (types, required fields, known version) and pick its lane.

    Anything that does not decode goes to the dead-letter topic with the reason, and its
    original bytes untouched, so nothing is silently dropped and the queue keeps moving.
    """
    carried = {k: _text(v) for k, v in (amqp_headers or {}).items() if k in _CARRIED}
    try:
        event = decode(body)
    except SchemaError as exc:
        reason = str(exc)[:500]  # "<reason>: <detail>"
        dl_headers = {**carried, h.DEADLETTER_REASON: reason, h.DEADLETTER_SOURCE: "bridge"}
        return Route(deadletter_topic(prefix), None, h.kafka_headers(dl_headers), exc.reason)
    values = {h.EVENT_ID: event.event_id, h.EVENT_TYPE: event.event_type,
              h.CORRELATION_ID: event.correlation_id, h.FILE_ID: event.file_id, **carried}
    return Route(lane_topic(event.priority, prefix), event.file_id.encode(),
                 h.kafka_headers(values))
