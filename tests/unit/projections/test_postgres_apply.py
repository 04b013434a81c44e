"""Pure parts of the Postgres projection: apply, the register merge, batching, query parsing."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from projections.base import Positioned, Stamp
from projections.batching import decode_records, without_partitions
from projections.postgres.apply import PostgresIntents, PostgresProjector
from projections.postgres.queries import (
    TrackQuery,
    build_query,
    compatible_camelot,
    parse_bpm,
    parse_confidence,
    parse_key,
)
from projections.postgres.rows import Row, merge_track, merge_versioned, version_key
from projections.postgres.schema import build_tables
from schemas.analysis_events import AnalysisCompleted
from schemas.codec import AnyEvent, decode, encode
from schemas.envelope import file_id_for
from schemas.file_events import FileInfo, Tags
from tests import builders as build
from tests.builders import ROOT, Envelope, file_info
from tests.unit.schemas.samples import FEATURES, all_samples

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def info(rel: str, title: str = "T", content_hash: str = "aa") -> FileInfo:
    return file_info(rel, mtime=0.0, content_hash=content_hash,
                     tags=Tags(artist="A", title=title))


def fid(rel: str) -> str:
    return file_id_for(ROOT, rel)


def env(t: float, eid: str) -> Envelope:
    return {"occurred_at": at(t), "event_id": eid}


def discovered(rel: str, t: float, eid: str, title: str = "T") -> AnyEvent:
    return build.discovered(info(rel, title), **env(t, eid))


def modified(rel: str, t: float, eid: str, title: str) -> AnyEvent:
    return build.modified(info(rel, title, "bb"), **env(t, eid))


def started(rel: str, t: float, eid: str) -> AnyEvent:
    return build.started(info(rel), **env(t, eid))


def completed(rel: str, t: float, eid: str, analysis_id: str, bpm: float = 124.0) -> AnyEvent:
    features = FEATURES.__class__(**{**_fields(FEATURES), "bpm": bpm})
    return build.completed(info(rel), features, analysis_id, processing_ms=10.0, **env(t, eid))


def failed(rel: str, t: float, eid: str, attempts: int = 1) -> AnyEvent:
    return build.failed(info(rel), attempts=attempts, **env(t, eid))


def moved(old: str, new: str, t: float, eid: str) -> AnyEvent:
    return build.moved(info(new), previous_rel=old, **env(t, eid))


def deleted(rel: str, t: float, eid: str) -> AnyEvent:
    return build.deleted(info(rel), **env(t, eid))


def _fields(struct: Any) -> dict[str, Any]:
    return {f: getattr(struct, f) for f in struct.__struct_fields__}


def positioned(events: list[AnyEvent]) -> list[Positioned]:
    return [Positioned(e, "t", 0, i) for i, e in enumerate(events)]


def apply(events: list[AnyEvent]) -> PostgresIntents:
    return PostgresProjector().apply(positioned(events))


@dataclass
class Store:
    """The writer's upserts, in memory: the same merge functions keyed like the tables."""

    tracks: dict[str, Row]
    analyses: dict[str, Row]
    failures: dict[str, Row]

    @classmethod
    def empty(cls) -> Store:
        return cls({}, {}, {})

    def write(self, intents: PostgresIntents) -> Store:
        for table, rows, key, merge in ((self.tracks, intents.tracks, "file_id", merge_track),
                                        (self.analyses, intents.analyses, "analysis_id",
                                         merge_versioned),
                                        (self.failures, intents.failures, "file_id",
                                         merge_versioned)):
            for row in rows:
                old = table.get(row[key])
                table[row[key]] = row if old is None else merge(old, row)
        return self


def corpus() -> list[AnyEvent]:
    return [
        discovered("a.mp3", 1, "e01"), started("a.mp3", 2, "e02"),
        completed("a.mp3", 3, "e03", "an-a1", 120.0), modified("a.mp3", 4, "e04", "T2"),
        completed("a.mp3", 5, "e05", "an-a2", 128.0), discovered("b.mp3", 1, "e06"),
        failed("b.mp3", 2, "e07"), failed("b.mp3", 3, "e08", attempts=2),
        discovered("c.mp3", 1, "e09"), completed("c.mp3", 2, "e10", "an-c1"),
        moved("c.mp3", "d.mp3", 3, "e11"), discovered("e.mp3", 1, "e12"),
        deleted("e.mp3", 2, "e13"),
    ]


def test_apply_is_pure_and_deterministic() -> None:
    events = corpus()
    batch = positioned(events)
    assert PostgresProjector().apply(batch) == PostgresProjector().apply(batch)
    assert [p.event for p in batch] == events


def test_duplicates_in_a_batch_change_nothing() -> None:
    events = corpus()
    assert apply(events + events) == apply(events)


@pytest.mark.parametrize("seed", range(20))
def test_state_depends_on_the_set_of_events_not_order_batching_or_duplicates(seed: int) -> None:
    rng = random.Random(seed)
    events = corpus()
    reference = Store.empty().write(apply(events))
    noisy = events + rng.sample(events, k=len(events) // 2)
    rng.shuffle(noisy)
    store = Store.empty()
    i = 0
    while i < len(noisy):
        size = rng.randint(1, 4)
        store.write(apply(noisy[i:i + size]))
        i += size
    assert store == reference


def test_last_writer_wins_per_register() -> None:
    tracks = {r["file_id"]: r for r in apply(corpus()).tracks}
    a = tracks[fid("a.mp3")]
    # The modification (t=4) is newer than the first analysis, older than the second.
    assert (a["title"], a["content_hash"], a["progress"]) == ("T2", "bb", "analysed")
    assert (a["current_analysis_id"], a["bpm"]) == ("an-a2", 128.0)
    assert a["created_at"] == at(1) and a["updated_at"] == at(5)
    assert a["last_event_id"] == "e05"


def test_newest_analysis_wins_even_when_it_arrives_first_and_history_is_kept() -> None:
    events = [completed("a.mp3", 5, "e2", "an-new", 130.0),
              completed("a.mp3", 3, "e1", "an-old", 100.0)]
    intents = apply(events)
    assert [r["analysis_id"] for r in intents.analyses] == ["an-new", "an-old"]
    assert intents.tracks[0]["current_analysis_id"] == "an-new"
    assert intents.tracks[0]["bpm"] == 130.0


def test_analysis_before_discovery_keeps_both() -> None:
    events = [completed("a.mp3", 5, "e2", "an-1"), discovered("a.mp3", 1, "e1", "Title")]
    (row,) = apply(events).tracks
    assert (row["title"], row["current_analysis_id"], row["progress"]) == ("Title", "an-1",
                                                                         "analysed")
    assert row["present"] is True and row["created_at"] == at(1)


def test_equal_times_are_ordered_by_event_id() -> None:
    assert version_key(Stamp(at(1), "b")) > version_key(Stamp(at(1), "a"))
    assert version_key(Stamp(at(1.000001), "a")) > version_key(Stamp(at(1), "z"))
    assert version_key(Stamp(at(10), "a")) > version_key(Stamp(at(9.5), "z"))


def test_failure_is_upserted_last_writer_wins() -> None:
    intents = apply([failed("b.mp3", 3, "e2", attempts=2), failed("b.mp3", 2, "e1")])
    (row,) = intents.failures
    assert (row["attempts"], row["last_error_at"], row["reason"]) == (2, at(3), "corrupt")
    (track,) = intents.tracks
    assert track["progress"] == "failed"


def test_move_deletes_old_id_and_creates_new_one() -> None:
    intents = apply([discovered("c.mp3", 1, "e1"), moved("c.mp3", "d.mp3", 3, "e2")])
    tracks = {r["file_id"]: r for r in intents.tracks}
    old, new = tracks[fid("c.mp3")], tracks[fid("d.mp3")]
    assert old["present"] is False and old["path"] == f"{ROOT}/c.mp3"
    assert new["present"] is True and new["path"] == f"{ROOT}/d.mp3"
    # Progress and analysis are inherited from the old id by the writer, never set here.
    assert new["progress"] is None and new["progress_version"] == ""
    assert intents.moves == [{"from_id": fid("c.mp3"), "to_id": fid("d.mp3"), "moved_at": at(3),
                              "event_id": "e2", "version": version_key(Stamp(at(3), "e2"))}]


def test_delete_then_rediscovery_is_present_again() -> None:
    (gone,) = apply([discovered("e.mp3", 1, "e1"), deleted("e.mp3", 2, "e2")]).tracks
    assert gone["present"] is False and gone["progress"] == "queued"
    (back,) = apply([deleted("e.mp3", 2, "e2"), discovered("e.mp3", 3, "e3")]).tracks
    assert back["present"] is True


def test_every_sample_event_type_is_handled() -> None:
    intents = PostgresProjector().apply(positioned(list(all_samples())))  # type: ignore[arg-type]
    assert intents.tracks and intents.analyses and intents.failures and intents.moves


@dataclass(frozen=True)
class Rec:
    topic: str
    partition: int
    offset: int
    value: bytes | None


def test_batching_skips_poison_but_advances_and_drops_what_was_written() -> None:
    good = encode(discovered("a.mp3", 1, "e1"))
    records = [[Rec("t", 0, 5, good), Rec("t", 0, 6, good), Rec("t", 0, 7, b"junk")],
               [Rec("t", 1, 0, None)]]
    batch = decode_records(records, {("t", 0): 5})
    assert [p.offset for p in batch.events] == [6]
    assert batch.checkpoints == {("t", 0): 7, ("t", 1): 0}
    assert [(s.offset, s.reason) for s in batch.skipped] == [(7, "malformed"), (0, "empty")]
    trimmed = without_partitions(batch, {("t", 0)})
    assert trimmed.events == [] and trimmed.checkpoints == {("t", 1): 0}


@pytest.mark.parametrize(("text", "camelot", "names", "scale"), [
    ("8A", "8A", (), None), ("12b", "12B", (), None), ("Am", None, ("A",), "minor"),
    ("A minor", None, ("A",), "minor"), ("F#m", None, ("F#", "Gb"), "minor"),
    ("Bb", None, ("A#", "Bb"), "major"), ("C major", None, ("C",), "major"),
])
def test_parse_key(text: str, camelot: str | None, names: tuple[str, ...],
                   scale: str | None) -> None:
    key = parse_key(text)
    assert (key.camelot, key.names, key.scale) == (camelot, names, scale)


@pytest.mark.parametrize(("text", "expected"), [
    ("Am", "8A"), ("C", "8B"), ("Em", "9A"), ("G", "9B"), ("F#m", "11A"), ("Db", "3B"),
    ("Ebm", "2A"), ("F", "7B"),
])
def test_keys_map_to_camelot(text: str, expected: str) -> None:
    assert parse_key(text).as_camelot() == expected


def test_compatible_camelot_wraps_round_the_wheel() -> None:
    assert compatible_camelot("8A") == ("8A", "9A", "7A", "8B")
    assert compatible_camelot("12B") == ("12B", "1B", "11B", "12A")
    assert compatible_camelot("1A") == ("1A", "2A", "12A", "1B")
    assert compatible_camelot("Am") == compatible_camelot("8A")


@pytest.mark.parametrize(("text", "expected"), [
    ("120..128", (120.0, 128.0)), ("120-128", (120.0, 128.0)), ("124", (124.0, 124.0)),
    ("120..", (120.0, None)), ("..128", (None, 128.0)), ("99.5..100.5", (99.5, 100.5)),
])
def test_parse_bpm(text: str, expected: tuple[float | None, float | None]) -> None:
    assert parse_bpm(text) == expected


@pytest.mark.parametrize("text", ["fast", "130..120", "", "H#m"])
def test_bad_filters_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_bpm(text) if text != "H#m" else parse_key(text)


def test_tracks_carry_the_current_analysis_confidences_and_tuning() -> None:
    old = completed("a.mp3", 3, "e1", "an-old", 100.0)
    new = completed("a.mp3", 5, "e2", "an-new", 130.0)
    assert isinstance(new, AnalysisCompleted)
    tuned = new.payload.features.__class__(**{**_fields(new.payload.features),
                                              "bpm_confidence": 0.31, "key_strength": 0.66,
                                              "tuning_cents": 17.5})
    new = msgspec.structs.replace(new, payload=msgspec.structs.replace(new.payload,
                                                                       features=tuned))
    intents = apply([new, old])
    (track,) = intents.tracks
    assert (track["current_analysis_id"], track["bpm_confidence"], track["key_strength"],
            track["tuning_cents"]) == ("an-new", 0.31, 0.66, 17.5)
    history = {r["analysis_id"]: r for r in intents.analyses}
    assert history["an-new"]["tuning_cents"] == 17.5
    assert history["an-old"]["tuning_cents"] == FEATURES.tuning_cents


def test_a_v1_analysis_projects_unknown_tuning() -> None:
    raw = msgspec.json.decode(encode(completed("a.mp3", 3, "e1", "an-1")))
    del raw["payload"]["features"]["tuning_cents"]
    raw["schema_version"] = 1
    event = decode(msgspec.json.encode(raw))
    intents = apply([event])
    assert intents.tracks[0]["tuning_cents"] is None
    assert intents.analyses[0]["tuning_cents"] is None
    assert intents.tracks[0]["bpm_confidence"] == FEATURES.bpm_confidence


@pytest.mark.parametrize(("text", "expected"), [("0", 0.0), ("0.6", 0.6), ("1", 1.0)])
def test_parse_confidence(text: str, expected: float) -> None:
    assert parse_confidence(text) == expected


@pytest.mark.parametrize("text", ["high", "-0.1", "1.5", "nan", ""])
def test_bad_confidences_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_confidence(text)


def test_min_confidence_filters_on_the_tracks_bpm_confidence() -> None:
    tables = build_tables("tracktion")
    sql = build_query(tables, TrackQuery(min_confidence=0.6))
    compiled = sql.compile()
    assert "tracktion.tracks.bpm_confidence >= :bpm_confidence_1" in str(compiled)
    assert compiled.params["bpm_confidence_1"] == 0.6
    assert "bpm_confidence >=" not in str(build_query(tables, TrackQuery()).compile())


def test_tracks_and_history_carry_the_current_analysis_beat_grid() -> None:
    old = completed("a.mp3", 3, "e1", "an-old", 100.0)
    new = completed("a.mp3", 5, "e2", "an-new", 130.0)
    assert isinstance(new, AnalysisCompleted)
    grid = {"first_beat_s": 0.25, "grid_confidence": 0.5, "downbeat_s": None,
            "beats_per_bar": None}
    gridded = new.payload.features.__class__(**{**_fields(new.payload.features), **grid})
    new = msgspec.structs.replace(new, payload=msgspec.structs.replace(new.payload,
                                                                       features=gridded))
    (track,) = apply([new, old]).tracks
    assert {k: track[k] for k in grid} == grid
    history = {r["analysis_id"]: r for r in apply([old, new]).analyses}
    assert {k: history["an-new"][k] for k in grid} == grid
    assert history["an-old"]["first_beat_s"] == FEATURES.first_beat_s
    assert history["an-old"]["beats_per_bar"] == FEATURES.beats_per_bar


def test_a_v2_analysis_projects_an_unknown_grid() -> None:
    raw = msgspec.json.decode(encode(completed("a.mp3", 3, "e1", "an-1")))
    for name in ("first_beat_s", "grid_confidence", "downbeat_s", "beats_per_bar"):
        del raw["payload"]["features"][name]
    raw["schema_version"] = 2
    intents = apply([decode(msgspec.json.encode(raw))])
    for row in (intents.tracks[0], intents.analyses[0]):
        assert (row["first_beat_s"], row["grid_confidence"], row["downbeat_s"],
                row["beats_per_bar"]) == (None, None, None, None)
    assert intents.tracks[0]["tuning_cents"] == FEATURES.tuning_cents
