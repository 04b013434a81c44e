from __future__ import annotations

import json

import pytest

from schemas.codec import encode
from schemas.namespace import Namespace
from streams.bridge.routing import EXCERPT_BYTES, excerpt_route, route
from tests.unit.schemas.samples import all_samples

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_valid_event_goes_to_its_lane_keyed_by_file_id_with_ids_and_trace() -> None:
    event = all_samples()[0]
    target = route(encode(event), {"traceparent": TRACEPARENT, "other": "x"}, Namespace("p"))
    assert target.topic == Namespace("p").lane_topic(event.priority)
    assert target.key == event.file_id.encode()
    headers = dict(target.headers)
    assert headers["event_id"] == event.event_id.encode()
    assert headers["correlation_id"] == event.correlation_id.encode()
    assert headers["traceparent"] == TRACEPARENT.encode()
    assert "other" not in headers and target.deadletter_reason is None


@pytest.mark.parametrize(("body", "reason"), [
    (b"\x00\xffnot json", "malformed"),
    (b'{"event_type": "Mystery", "schema_version": 1}', "unknown_event_type"),
    (b'{"event_type": "FileDiscovered", "schema_version": 7}', "unsupported_version"),
    (b'{"event_type": "FileDiscovered", "schema_version": 1, "event_id": "x"}', "invalid"),
])
def test_bad_messages_go_to_deadletter_with_reason(body: bytes, reason: str) -> None:
    target = route(body, {"traceparent": TRACEPARENT}, Namespace("p"))
    assert target.topic == Namespace("p").deadletter_topic
    assert target.deadletter_reason == reason
    assert dict(target.headers)["deadletter_reason"].decode().startswith(reason)


def test_high_priority_event_goes_to_the_high_lane() -> None:
    raw = json.loads(encode(all_samples()[0]))
    raw["priority"] = "high"
    assert route(json.dumps(raw).encode(), None, Namespace("p")).topic == Namespace(
        "p").lane_topic("high")


def test_a_body_above_the_limit_is_deadlettered_as_an_excerpt_with_its_ids() -> None:
    event = all_samples()[0]
    body = encode(event)
    amqp = {"event_id": event.event_id, "file_id": event.file_id, "traceparent": TRACEPARENT,
            "other": "x" * 10_000}
    target = route(body, amqp, Namespace("p"), max_bytes=len(body) - 1)
    assert target.topic == Namespace("p").deadletter_topic and target.key is None
    assert target.deadletter_reason == "too_large"
    headers = dict(target.headers)
    assert headers["deadletter_reason"].decode().startswith(f"too_large: {len(body)} bytes")
    assert headers["deadletter_original_bytes"] == str(len(body)).encode()
    assert headers["event_id"] == event.event_id.encode() and "other" not in headers
    assert target.value == body[:EXCERPT_BYTES]
    assert route(body, amqp, Namespace("p"), max_bytes=len(body)).topic == \
        Namespace("p").lane_topic(event.priority)


def test_an_excerpt_is_bounded_however_large_the_message_and_its_headers() -> None:
    target = excerpt_route(b"x" * 5_000_000, {"event_id": "e" * 100_000}, Namespace("p"),
                           "kafka_refused",
                           "MessageSizeTooLargeError")
    assert target.value is not None and len(target.value) == EXCERPT_BYTES
    assert sum(len(k) + len(v) for k, v in target.headers) < 2000
