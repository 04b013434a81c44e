"""Pure routing of one AMQP message: to which Kafka topic, with which key, value and headers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas import headers as h
from schemas.codec import decode
from schemas.envelope import SchemaError
from schemas.namespace import Namespace

# Headers copied from AMQP to Kafka; everything else stays behind.
_CARRIED = (h.TRACEPARENT, h.TRACESTATE)
# Headers kept (bounded) on a dead letter that cannot hold the whole original message.
_IDENTIFYING = (h.EVENT_ID, h.EVENT_TYPE, h.CORRELATION_ID, h.FILE_ID, *_CARRIED)
EXCERPT_BYTES = 4096
_HEADER_CHARS = 256
# Kafka's own limit (message.max.bytes) is ~1 MiB per record batch; stay well below it.
DEFAULT_MAX_EVENT_BYTES = 512 * 1024


@dataclass(frozen=True)
class Route:
    topic: str
    key: bytes | None
    headers: list[tuple[str, bytes]]
    deadletter_reason: str | None = None
    value: bytes | None = None  # None: the message body unchanged


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def route(body: bytes, amqp_headers: Mapping[str, Any] | None, ns: Namespace,
          max_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> Route:
    """Validate the event fully (types, required fields, known version) and pick its lane.

    Anything that does not decode goes to the dead-letter topic with the reason, and its
    original bytes untouched, so nothing is silently dropped and the queue keeps moving.
    A body above `max_bytes` is dead-lettered as `too_large` without being decoded: Kafka
    would refuse it, so only an excerpt and its identifying headers are kept.
    """
    if len(body) > max_bytes:
        return excerpt_route(body, amqp_headers, ns, "too_large",
                             f"{len(body)} bytes, above the limit of {max_bytes}")
    carried = {k: _text(v) for k, v in (amqp_headers or {}).items() if k in _CARRIED}
    try:
        event = decode(body)
    except SchemaError as exc:
        reason = str(exc)[:500]  # "<reason>: <detail>"
        dl_headers = {**carried, h.DEADLETTER_REASON: reason, h.DEADLETTER_SOURCE: "bridge"}
        return Route(ns.deadletter_topic, None, h.kafka_headers(dl_headers), exc.reason)
    values = {h.EVENT_ID: event.event_id, h.EVENT_TYPE: event.event_type,
              h.CORRELATION_ID: event.correlation_id, h.FILE_ID: event.file_id, **carried}
    return Route(ns.lane_topic(event.priority), event.file_id.encode(),
                 h.kafka_headers(values))


def excerpt_route(body: bytes, amqp_headers: Mapping[str, Any] | None, ns: Namespace,
                  reason: str, detail: str) -> Route:
    """A dead letter small enough for Kafka: the first `EXCERPT_BYTES` of the body, the
    original size, and the message's identifying AMQP headers (each bounded)."""
    kept = {k: _text(v)[:_HEADER_CHARS] for k, v in (amqp_headers or {}).items()
            if k in _IDENTIFYING}
    dl_headers = {**kept, h.DEADLETTER_REASON: f"{reason}: {detail}"[:500],
                  h.DEADLETTER_SOURCE: "bridge", h.DEADLETTER_ORIGINAL_BYTES: str(len(body))}
    return Route(ns.deadletter_topic, None, h.kafka_headers(dl_headers), reason,
                 value=body[:EXCERPT_BYTES])
