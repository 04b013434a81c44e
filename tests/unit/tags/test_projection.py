"""The pure parts of the tags projection: latest analysis per file, the record of our own
writes (same audio, superseded versions), and which roles `--role all` runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from projections.base import Positioned
from projections.tags.apply import TagsProjector
from projections.tags.writer import values_of
from schemas.analysis_events import AnalysisCompleted, AnalysisCompletedPayload
from schemas.codec import AnyEvent
from schemas.file_events import FileDiscovered, FileDiscoveredPayload
from streams.cli.worker_cmd import roles_for
from streams.tags import ours
from tests.unit.schemas.samples import FEATURES, INFO

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def completed(file_id: str, bpm: float, at_s: int, event_id: str = "") -> AnalysisCompleted:
    event: AnalysisCompleted = AnalysisCompleted.create(
        file_id=file_id, correlation_id="c", occurred_at=T0 + timedelta(seconds=at_s),
        event_id=event_id or f"e-{file_id}-{at_s}",
        payload=AnalysisCompletedPayload(
            analysis_id=f"a-{file_id}-{at_s}", path=f"/m/{file_id}.mp3",
            content_hash=f"h-{file_id}", features=msgspec.structs.replace(FEATURES, bpm=bpm),
            processing_ms=1.0))
    return event


def positioned(events: list[AnyEvent]) -> list[Positioned]:
    return [Positioned(e, "t", 0, i) for i, e in enumerate(events)]


def test_latest_analysis_per_file_wins_whatever_the_order() -> None:
    other: AnyEvent = FileDiscovered.create(file_id="a", correlation_id="c",
                                            payload=FileDiscoveredPayload(file=INFO))
    events: list[AnyEvent] = [completed("a", 128, 20), completed("b", 90, 5), other,
                              completed("a", 120, 10)]
    intents = TagsProjector().apply(positioned(events))
    assert [(t.file_id, t.features.bpm) for t in intents.targets] == [("a", 128), ("b", 90)]
    backwards = TagsProjector().apply(positioned(events[::-1]))
    assert backwards == intents
    tie = TagsProjector().apply(positioned([completed("a", 1, 0, "e2"),
                                            completed("a", 2, 0, "e1")]))
    assert tie.targets[0].features.bpm == 1  # same instant: the greater event id wins


def test_the_writer_turns_features_into_tags_in_the_chosen_notation() -> None:
    target = TagsProjector().apply(positioned([completed("a", 124.4, 0)])).targets[0]
    assert values_of(target, "standard").key == "Am"
    assert values_of(target, "camelot").key == "8A"
    assert values_of(target, "open_key").key == "1m"
    assert values_of(target, "standard").bpm == "124"


def test_our_writes_keep_the_audio_identity() -> None:
    record = ours.parse({b"h1": b"h0", "h2": "h0", "applied": "100 e9"})
    assert record.applied == (100, "e9")
    assert record.same_audio("h0", "h0")  # untouched file
    assert record.same_audio("h2", "h0")  # we tagged it since the analysis
    assert record.same_audio("h2", "h1")  # analysed after our first write, tagged again
    assert not record.same_audio("h5", "h0")  # someone else's edit
    assert not record.same_audio("h1", "hx")  # our bytes, but another audio was analysed
    assert record.is_ours("h2") and not record.is_ours("h0")
    assert ours.EMPTY.same_audio("h0", "h0") and not ours.EMPTY.same_audio("h1", "h0")


def test_an_older_analysis_does_not_overwrite_a_newer_one() -> None:
    record = ours.parse({"applied": ours.encode_version((200, "e2"))})
    assert record.superseded_by_applied((100, "e9"))
    assert not record.superseded_by_applied((200, "e2"))  # the same one is re-applied
    assert not record.superseded_by_applied((300, "e1"))
    assert not ours.EMPTY.superseded_by_applied((0, ""))
    assert ours.key("p:", "f1") == "p:tags:ours:f1"


def test_role_all_runs_tags_only_when_asked() -> None:
    assert "tags" not in roles_for("all", tags_write=False)
    assert roles_for("all", tags_write=True)[-1] == "tags"
    assert roles_for("tags", tags_write=False) == ("tags",)
