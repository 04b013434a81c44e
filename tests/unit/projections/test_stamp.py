"""One last-writer-wins order: every store's form of the stamp sorts exactly as the stamp."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

from projections.base import Stamp, from_micros, micros, stamp
from projections.neo4j.apply import stamp_text
from projections.postgres.rows import version_key
from schemas.file_events import FileDeleted, FileDeletedPayload
from tests.unit.schemas.samples import AT, FID


def test_every_stored_form_sorts_as_the_stamp() -> None:
    rng = random.Random(7)
    stamps = [Stamp(AT + timedelta(microseconds=rng.randrange(-10**12, 10**12)),
                    rng.choice(["a", "b", "ab", "e1", "e10", "e2", "f" * 32]))
              for _ in range(2000)]
    stamps += [Stamp(AT, "a"), Stamp(AT, "a"), Stamp(AT, "b")]  # ties, equal stamps
    expected = sorted(stamps)
    assert sorted(stamps, key=lambda s: version_key(s).encode()) == expected  # COLLATE "C"
    assert sorted(stamps, key=stamp_text) == expected
    assert sorted(stamps, key=lambda s: (s.at_us, s.event_id.encode())) == expected  # Lua


def test_each_store_keeps_the_stamp_in_the_form_it_has_stored() -> None:
    # Stored stamps are compared with new ones, so their forms must never change.
    event = FileDeleted.create(file_id=FID, correlation_id="c", event_id="e1",
                               occurred_at=AT.replace(tzinfo=timezone(timedelta(0))),
                               payload=FileDeletedPayload("/m/x.mp3", "/m", "x.mp3"))
    assert stamp(event) == Stamp(AT, "e1") and stamp(event).at.tzinfo is UTC
    assert version_key(stamp(event)) == "2026-11-24T12:00:00.000000Z|e1"
    assert stamp_text(stamp(event)) == "2026-11-24T12:00:00.000000+00:00|e1"
    assert stamp(event).at_us == int(datetime(2026, 11, 24, 12, tzinfo=UTC).timestamp()) * 10**6


def test_from_micros_inverts_micros_exactly() -> None:
    for at in (AT, AT + timedelta(microseconds=1), datetime(1970, 1, 1, tzinfo=UTC)):
        assert from_micros(micros(at)) == at and from_micros(micros(at)).tzinfo is UTC
