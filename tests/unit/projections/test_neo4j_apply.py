"""The pure half of the Neo4j projection: Camelot wheel, last-writer-wins, moves and deletes."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

import msgspec
import pytest

from projections.base import Positioned, stamp
from projections.neo4j.apply import GraphIntents, Neo4jProjector, stamp_text, tempo_bucket
from projections.neo4j.camelot import (
    CAMELOT_CODES,
    all_compatibilities,
    all_keys,
    compatible,
    normalise_camelot,
)
from projections.neo4j.cypher import FEATURE_KEYS
from schemas.analysis_events import AnalysisCompleted, AnalysisStarted
from schemas.codec import AnyEvent
from schemas.file_events import FileDiscovered, FileMoved, FileMovedPayload
from tests import builders as build
from tests.unit.schemas.samples import AT, FEATURES, FID, INFO

# The published Camelot chart, written out by hand so the arithmetic is checked against it.
CHART = {
    "1A": ("Ab", "minor"), "2A": ("Eb", "minor"), "3A": ("Bb", "minor"), "4A": ("F", "minor"),
    "5A": ("C", "minor"), "6A": ("G", "minor"), "7A": ("D", "minor"), "8A": ("A", "minor"),
    "9A": ("E", "minor"), "10A": ("B", "minor"), "11A": ("F#", "minor"), "12A": ("C#", "minor"),
    "1B": ("B", "major"), "2B": ("F#", "major"), "3B": ("C#", "major"), "4B": ("Ab", "major"),
    "5B": ("Eb", "major"), "6B": ("Bb", "major"), "7B": ("F", "major"), "8B": ("C", "major"),
    "9B": ("G", "major"), "10B": ("D", "major"), "11B": ("A", "major"), "12B": ("E", "major"),
}


def _expected_neighbours(code: str) -> set[str]:
    n, letter = int(code[:-1]), code[-1]
    up = 1 if n == 12 else n + 1
    down = 12 if n == 1 else n - 1
    return {code, f"{n}{'B' if letter == 'A' else 'A'}", f"{up}{letter}", f"{down}{letter}"}


def test_the_wheel_has_24_keys_named_as_the_chart() -> None:
    keys = all_keys()
    assert len(keys) == 24
    assert {k.camelot: (k.name, k.scale) for k in keys} == CHART


@pytest.mark.parametrize("code", sorted(CHART))
def test_every_key_has_exactly_the_expected_neighbours(code: str) -> None:
    out = {c.dst for c in all_compatibilities() if c.src == code}
    assert out == _expected_neighbours(code)
    relations = {c.dst: c.relation for c in compatible(code)}
    assert relations[code] == "same"
    assert [r for r in relations.values()].count("adjacent") == 2


def test_hand_checked_neighbourhoods() -> None:
    assert {c.dst for c in compatible("8A")} == {"8A", "8B", "7A", "9A"}
    assert {c.dst for c in compatible("12B")} == {"12B", "12A", "11B", "1B"}
    assert {c.dst for c in compatible("1A")} == {"1A", "1B", "12A", "2A"}


def test_compatibility_is_symmetric_with_96_edges() -> None:
    edges = {(c.src, c.dst, c.relation) for c in all_compatibilities()}
    assert len(edges) == 96
    assert all((d, s, r) in edges for s, d, r in edges)


@pytest.mark.parametrize(("camelot", "key", "scale", "expected"), [
    ("8a", "A", "minor", "8A"),
    (" 11B ", "A", "major", "11B"),
    ("", "A", "minor", "8A"),  # missing camelot: derived from key + scale
    ("13A", "Db", "major", "3B"),  # invalid camelot, enharmonic tonic
    ("?", "G#", "minor", "1A"),
    ("", "H", "minor", None),
    ("", "C", "dorian", None),
])
def test_normalise_camelot(camelot: str, key: str, scale: str, expected: str | None) -> None:
    assert normalise_camelot(camelot, key, scale) == expected
    assert expected is None or expected in CAMELOT_CODES


def test_tempo_buckets_are_five_bpm_floors() -> None:
    assert [tempo_bucket(b) for b in (64.0, 124.0, 124.99, 125.0, None)] == [60, 120, 120, 125,
                                                                             None]


# --- events -------------------------------------------------------------------------------

def _discovered(n: int, *, fid: str = FID, artist: str = "Artist") -> FileDiscovered:
    info = msgspec.structs.replace(INFO, tags=msgspec.structs.replace(INFO.tags, artist=artist))
    return build.discovered(info, file_id=fid, event_id=f"d{n}",
                            occurred_at=AT + timedelta(seconds=n))


def _completed(n: int, camelot: str = "8A", bpm: float = 124.0,
               fid: str = FID) -> AnalysisCompleted:
    features = msgspec.structs.replace(FEATURES, camelot=camelot, bpm=bpm)
    return build.completed(INFO, features, analysis_id=f"an{n}", file_id=fid, event_id=f"a{n}",
                           occurred_at=AT + timedelta(seconds=n))


def _started(n: int) -> AnalysisStarted:
    return build.started(INFO, event_id=f"s{n}", occurred_at=AT + timedelta(seconds=n))


def _apply(events: list[AnyEvent]) -> GraphIntents:
    return Neo4jProjector().apply([Positioned(e, "t", 0, i) for i, e in enumerate(events)])


def test_newest_analysis_wins_whatever_the_order() -> None:
    events: list[AnyEvent] = [_completed(1, "8A"), _completed(3, "9B"), _completed(2, "5A")]
    for perm in itertools.permutations(events):
        (row,) = _apply(list(perm)).analyses
        assert row["features"] is not None
        assert row["features"]["camelot"] == "9B"
        assert row["stamp"] == stamp_text(stamp(events[1]))


def test_duplicates_and_order_do_not_change_intents() -> None:
    events: list[AnyEvent] = [_discovered(1), _completed(2), _started(3),
                              _discovered(4, artist="B")]
    once = _apply(events)
    shuffled = events * 3
    random.Random(7).shuffle(shuffled)
    assert _apply(shuffled) == once


def test_equal_timestamps_break_ties_by_event_id() -> None:
    a = _completed(1, "8A")
    b = msgspec.structs.replace(_completed(1, "3B"), event_id="a9")
    assert _apply([b, a]).analyses[0]["features"]["camelot"] == "3B"  # type: ignore[index]
    assert _apply([a, b]).analyses[0]["features"]["camelot"] == "3B"  # type: ignore[index]


def test_reanalysis_moves_the_track_to_its_new_key_and_tempo() -> None:
    (row,) = _apply([_completed(1, "8A", 124.0), _completed(2, "2B", 98.0)]).analyses
    assert row["features"] is not None
    assert (row["features"]["camelot"], row["features"]["tempo_bucket"]) == ("2B", 95)


def test_newer_start_keeps_the_older_features() -> None:
    (row,) = _apply([_completed(1, "8A"), _started(2)]).analyses
    assert row["state"] == "analysing"
    assert row["features"] is not None and row["features"]["camelot"] == "8A"


def test_file_aspect_is_independent_of_analysis() -> None:
    intents = _apply([_completed(5), _discovered(1)])  # read out of order
    assert [r["props"]["artist"] for r in intents.files] == ["Artist"]
    assert [r["state"] for r in intents.analyses] == ["analysed"]  # 5 is newer than 1


def test_delete_after_discover_leaves_a_tombstone() -> None:
    deleted = build.deleted(INFO, event_id="x", occurred_at=AT + timedelta(seconds=9))
    (row,) = _apply([deleted, _discovered(1)]).files
    assert row["props"]["deleted"] is True
    assert row["props"]["artist"] is None
    (row,) = _apply([deleted, _discovered(10)]).files  # rediscovered later: present again
    assert row["props"]["deleted"] is False


def test_move_tombstones_the_old_id_and_links_it_to_the_new() -> None:
    moved = FileMoved.create(file_id="new", correlation_id="c", event_id="m",
                             occurred_at=AT + timedelta(seconds=5),
                             payload=FileMovedPayload(file=INFO, previous_file_id=FID,
                                                      previous_path="/music/old.mp3"))
    intents = _apply([_discovered(1), moved])
    files = {r["file_id"]: r["props"] for r in intents.files}
    assert files[FID]["deleted"] is True and files[FID]["path"] == "/music/old.mp3"
    assert files["new"]["deleted"] is False and files["new"]["path"] == INFO.path
    assert intents.moves == ({"src": FID, "dst": "new"},)


def test_requests_and_rediscovery_queue_the_file_but_keep_its_features() -> None:
    req = build.requested(INFO, reason="new", occurred_at=AT)
    intents = _apply([req])
    assert [r["state"] for r in intents.analyses] == ["queued"]
    assert [r["props"]["deleted"] for r in intents.files] == [False]
    (row,) = _apply([_completed(1), _discovered(2)]).analyses
    assert row["state"] == "queued"
    assert row["features"] is not None and row["features"]["camelot"] == "8A"


def test_an_empty_batch_has_no_intents() -> None:
    assert _apply([]).empty


def test_invalid_tempo_gives_no_bucket() -> None:
    (row,) = _apply([_completed(1, bpm=0.0)]).analyses
    assert row["features"] is not None
    assert (row["features"]["bpm"], row["features"]["tempo_bucket"]) == (None, None)


def test_track_features_carry_confidences_and_tuning() -> None:
    (row,) = _apply([_completed(1)]).analyses
    assert row["features"] is not None
    assert (row["features"]["bpm_confidence"], row["features"]["key_strength"],
            row["features"]["tuning_cents"]) == (FEATURES.bpm_confidence,
                                                 FEATURES.key_strength, FEATURES.tuning_cents)
    # Moves copy exactly the feature keys, so these must be among them.
    assert set(row["features"]) == set(FEATURE_KEYS)


def test_track_features_carry_the_beat_grid() -> None:
    (row,) = _apply([_completed(1)]).analyses
    assert row["features"] is not None
    f = row["features"]
    assert (f["first_beat_s"], f["grid_confidence"], f["downbeat_s"], f["beats_per_bar"]) == (
        FEATURES.first_beat_s, FEATURES.grid_confidence, FEATURES.downbeat_s,
        FEATURES.beats_per_bar)
