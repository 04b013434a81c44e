from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest

from schemas import codec, upcasters
from schemas.envelope import SchemaError, file_id_for
from schemas.file_events import FileDiscovered, FileDiscoveredPayload
from tests.unit.schemas.samples import INFO, all_samples

GOLDEN = Path(__file__).parents[2] / "golden"


@pytest.mark.parametrize("event", all_samples(), ids=lambda e: e.event_type)
def test_round_trip(event: object) -> None:
    assert codec.decode(codec.encode(event)) == event  # type: ignore[arg-type]


def test_every_event_type_has_a_golden_sample_of_its_current_version() -> None:
    for name, cls in codec.EVENT_TYPES.items():
        for version in range(1, cls.SCHEMA_VERSION + 1):
            assert (GOLDEN / f"{name}.v{version}.json").exists(), f"{name} v{version}"


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.name)
def test_golden_samples_still_decode(path: Path) -> None:
    event = codec.decode(path.read_bytes())
    name, version = path.stem.rsplit(".v", 1)
    assert event.event_type == name
    assert event.schema_version == codec.EVENT_TYPES[name].SCHEMA_VERSION
    assert int(version) <= event.schema_version


def test_file_id_is_stable_and_separator_insensitive() -> None:
    a = file_id_for("/music", "a/b.mp3")
    assert a == file_id_for("/music/", "a\\b.mp3") == file_id_for("/music", "/a/b.mp3")
    assert a != file_id_for("/music", "a/c.mp3")
    assert a != file_id_for("/other", "a/b.mp3")


@pytest.mark.parametrize(("data", "reason"), [
    (b"not json", "malformed"),
    (b'{"event_type": "Nope", "schema_version": 1}', "unknown_event_type"),
    (b'{"event_type": "FileDiscovered", "schema_version": 99}', "unsupported_version"),
    (b'{"event_type": "FileDiscovered", "schema_version": 1}', "invalid"),
    (b'{"schema_version": 1}', "malformed"),
])
def test_bad_input_is_rejected_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(SchemaError) as err:
        codec.decode(data)
    assert err.value.reason == reason


def test_naive_or_non_utc_timestamps_are_rejected() -> None:
    raw = json.loads(codec.encode(all_samples()[0]))
    raw["occurred_at"] = "2026-01-01T00:00:00"
    with pytest.raises(SchemaError):
        codec.decode(json.dumps(raw).encode())
    with pytest.raises(ValueError, match="UTC"):
        FileDiscovered.create(file_id="f", correlation_id="c",
                              payload=FileDiscoveredPayload(file=INFO),
                              occurred_at=datetime.now(timezone(timedelta(hours=2))))


def test_events_are_immutable() -> None:
    event = all_samples()[0]
    with pytest.raises(AttributeError):
        event.file_id = "x"  # type: ignore[misc]


def test_upcaster_chain_lifts_old_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulate a v2 FileDiscovered whose upcaster renames a field, and decode a v1 sample."""
    v1 = msgspec.json.decode((GOLDEN / "FileDiscovered.v1.json").read_bytes())

    def v1_to_v2(raw: dict[str, object]) -> dict[str, object]:
        return {**raw, "priority": "high"}

    monkeypatch.setitem(upcasters.UPCASTERS, ("FileDiscovered", 1), v1_to_v2)
    monkeypatch.setattr(FileDiscovered, "SCHEMA_VERSION", 2)
    event = codec.decode(msgspec.json.encode(v1))
    assert event.priority == "high" and event.schema_version == 2
