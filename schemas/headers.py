"""Message header names shared by AMQP and Kafka, so ids travel outside the payload too."""

from __future__ import annotations

EVENT_ID = "event_id"
EVENT_TYPE = "event_type"
CORRELATION_ID = "correlation_id"
FILE_ID = "file_id"
TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
DEADLETTER_REASON = "deadletter_reason"
DEADLETTER_SOURCE = "deadletter_source"
# Set when the dead letter holds only the first bytes of the original (too large to keep).
DEADLETTER_ORIGINAL_BYTES = "deadletter_original_bytes"


def kafka_headers(values: dict[str, str]) -> list[tuple[str, bytes]]:
    return [(k, v.encode()) for k, v in values.items() if v]
