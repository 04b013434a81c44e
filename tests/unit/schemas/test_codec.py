from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest

from schemas import codec, upcasters
from schemas.analysis_events import AnalysisCompleted
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


def test_analysis_completed_v1_upcasts_with_unknown_tuning() -> None:
    """v1 analysers did not measure tuning: the upcast event says None, not 0 cents."""
    v1 = GOLDEN / "AnalysisCompleted.v1.json"
    raw_v1 = json.loads(v1.read_text())
    assert raw_v1["schema_version"] == 1 and "tuning_cents" not in raw_v1["payload"]["features"]
    event = codec.decode(v1.read_bytes())
    assert isinstance(event, AnalysisCompleted)
    assert event.schema_version == AnalysisCompleted.SCHEMA_VERSION
    assert event.payload.features.tuning_cents is None
    # everything else is carried over unchanged
    v2 = codec.decode((GOLDEN / "AnalysisCompleted.v2.json").read_bytes())
    assert isinstance(v2, AnalysisCompleted)
    assert msgspec.structs.replace(v2.payload.features, tuning_cents=None) == \
        event.payload.features
    assert msgspec.structs.replace(v2, payload=msgspec.structs.replace(
        v2.payload, features=event.payload.features)) == event


def test_analysis_completed_v2_keeps_its_tuning_through_the_upcaster() -> None:
    event = codec.decode((GOLDEN / "AnalysisCompleted.v2.json").read_bytes())
    assert isinstance(event, AnalysisCompleted)
    assert event.schema_version == AnalysisCompleted.SCHEMA_VERSION == 4
    assert event.payload.features.tuning_cents == -12.5


def test_analysis_completed_v2_upcasts_with_an_unknown_grid() -> None:
    """v2 analysers did not look for a beat grid: every grid field is None, the confidence
    too (0 would claim a grid had been sought and not found)."""
    v2 = GOLDEN / "AnalysisCompleted.v2.json"
    raw_v2 = json.loads(v2.read_text())
    assert raw_v2["schema_version"] == 2
    assert not set(upcasters.GRID_FIELDS) & set(raw_v2["payload"]["features"])
    event = codec.decode(v2.read_bytes())
    assert isinstance(event, AnalysisCompleted)
    assert event.schema_version == AnalysisCompleted.SCHEMA_VERSION
    f = event.payload.features
    assert (f.first_beat_s, f.grid_confidence, f.downbeat_s, f.beats_per_bar) == (
        None, None, None, None)
    v3 = codec.decode((GOLDEN / "AnalysisCompleted.v3.json").read_bytes())
    assert isinstance(v3, AnalysisCompleted)
    unknown_grid = msgspec.structs.replace(v3.payload.features, first_beat_s=None,
                                           grid_confidence=None, downbeat_s=None,
                                           beats_per_bar=None)
    assert unknown_grid == f
    assert msgspec.structs.replace(v3, payload=msgspec.structs.replace(
        v3.payload, features=f)) == event


def test_analysis_completed_v3_keeps_its_grid_and_has_no_fingerprint() -> None:
    event = codec.decode((GOLDEN / "AnalysisCompleted.v3.json").read_bytes())
    assert isinstance(event, AnalysisCompleted) and event.schema_version == 4
    f = event.payload.features
    assert (f.first_beat_s, f.grid_confidence, f.downbeat_s, f.beats_per_bar) == (
        0.412, 0.93, 1.38, 4)
    assert f.tuning_cents == -12.5
    assert f.fingerprint is None
    v4 = codec.decode((GOLDEN / "AnalysisCompleted.v4.json").read_bytes())
    assert isinstance(v4, AnalysisCompleted)
    assert msgspec.structs.replace(v4.payload.features, fingerprint=None) == f


def test_analysis_completed_v4_decodes_the_fingerprint_directly() -> None:
    event = codec.decode((GOLDEN / "AnalysisCompleted.v4.json").read_bytes())
    assert isinstance(event, AnalysisCompleted)
    assert event.schema_version == AnalysisCompleted.SCHEMA_VERSION == 4
    assert event.payload.features.fingerprint == "AQAAAP////8QMlRWeJq83g=="
    raw = json.loads((GOLDEN / "AnalysisCompleted.v4.json").read_text())
    del raw["payload"]["features"]["fingerprint"]
    with pytest.raises(SchemaError):  # a v4 producer states it (null when not computed)
        codec.decode(json.dumps(raw).encode())


@pytest.mark.parametrize("name", upcasters.GRID_FIELDS)
def test_analysis_completed_v4_requires_every_grid_field(name: str) -> None:
    """A producer must state each grid field (null where nothing was found)."""
    raw = json.loads((GOLDEN / "AnalysisCompleted.v4.json").read_text())
    del raw["payload"]["features"][name]
    with pytest.raises(SchemaError) as err:
        codec.decode(json.dumps(raw).encode())
    assert err.value.reason == "invalid"
    raw["payload"]["features"][name] = None
    decoded = codec.decode(json.dumps(raw).encode())
    assert isinstance(decoded, AnalysisCompleted)
    assert getattr(decoded.payload.features, name) is None


def test_analysis_completed_v2_requires_tuning_cents() -> None:
    """A v2 producer must state the tuning (a number, or null when unknown)."""
    raw = json.loads((GOLDEN / "AnalysisCompleted.v2.json").read_text())
    del raw["payload"]["features"]["tuning_cents"]
    with pytest.raises(SchemaError) as err:
        codec.decode(json.dumps(raw).encode())
    assert err.value.reason == "invalid"
    raw["payload"]["features"]["tuning_cents"] = None
    decoded = codec.decode(json.dumps(raw).encode())
    assert isinstance(decoded, AnalysisCompleted)
    assert decoded.payload.features.tuning_cents is None


def test_upcaster_does_not_mutate_its_input() -> None:
    raw = json.loads((GOLDEN / "AnalysisCompleted.v1.json").read_text())
    before = json.dumps(raw, sort_keys=True)
    lifted = upcasters.upcast_analysis_completed_v1_v2(raw)
    assert json.dumps(raw, sort_keys=True) == before
    assert lifted["payload"]["features"]["tuning_cents"] is None
    raw = json.loads((GOLDEN / "AnalysisCompleted.v2.json").read_text())
    before = json.dumps(raw, sort_keys=True)
    lifted = upcasters.upcast_analysis_completed_v2_v3(raw)
    assert json.dumps(raw, sort_keys=True) == before
    assert lifted["payload"]["features"]["first_beat_s"] is None
