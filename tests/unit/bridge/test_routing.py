from __future__ import annotations

import json

import pytest

from schemas.codec import encode
from schemas.topics import deadletter_topic, lane_topic
from streams.bridge.routing import route
from tests.unit.schemas.samples import all_samples

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_valid_event_goes_to_its_lane_keyed_by_file_id_with_ids_and_trace() -> None:
    event = all_samples()[0]
    target = route(encode(event), {"traceparent": TRACEPARENT, "other": "x"}, "p")
    assert target.topic == lane_topic(event.priority, "p")
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
    target = route(body, {"traceparent": TRACEPARENT}, "p")
    assert target.topic == deadletter_topic("p")
    assert target.deadletter_reason == reason
    assert dict(target.headers)["deadletter_reason"].decode().startswith(reason)


def test_high_priority_event_goes_to_the_high_lane() -> None:
    raw = json.loads(encode(all_samples()[0]))
    raw["priority"] = "high"
    assert route(json.dumps(raw).encode(), None, "p").topic == lane_topic("high", "p")
