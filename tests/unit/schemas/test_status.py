"""The status vocabulary: the stored words never change, each status has one batch counter,
and the batch's former words read as today's."""

from __future__ import annotations

import pytest

from projections.postgres.queries import STATUSES
from projections.redis.apply import CODE
from projections.redis.script import PROGRESS_LUA
from schemas.status import BATCH_COUNTER, LEGACY_WORDS, TrackStatus, parse_status


def test_the_words_are_the_stored_ones() -> None:
    # PostgreSQL and Neo4j rows, Redis counter names and the JSON API hold these words.
    assert list(TrackStatus) == ["queued", "analysing", "analysed", "failed", "deleted"]
    assert list(BATCH_COUNTER.values()) == ["queued", "in_progress", "succeeded", "failed",
                                            "removed"]
    assert STATUSES == ("queued", "analysing", "analysed", "failed", "deleted")


def test_every_status_has_one_batch_counter() -> None:
    assert list(BATCH_COUNTER) == list(TrackStatus)
    assert len(set(BATCH_COUNTER.values())) == len(TrackStatus)


def test_former_batch_words_parse_as_todays() -> None:
    assert {w: parse_status(w) for w in ("in_progress", "succeeded", "removed")} == {
        "in_progress": "analysing", "succeeded": "analysed", "removed": "deleted"}
    assert set(LEGACY_WORDS.values()) <= set(TrackStatus)
    assert [parse_status(s) for s in TrackStatus] == list(TrackStatus)
    with pytest.raises(ValueError):
        parse_status("running")


def test_the_lua_script_uses_the_stored_codes_and_counter_names() -> None:
    assert CODE == {"queued": "q", "analysing": "p", "analysed": "s", "failed": "f",
                    "deleted": "r"}
    assert "local RANK = {q = 1, p = 2, s = 3, f = 3, r = 4}" in PROGRESS_LUA
    assert ("local NAME = {q = 'queued', p = 'in_progress', s = 'succeeded', f = 'failed', "
            "r = 'removed'}") in PROGRESS_LUA
    assert "@" not in PROGRESS_LUA
