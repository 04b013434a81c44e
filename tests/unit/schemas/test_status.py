"""The status vocabularies: the stored words never change, and the two map one to one."""

from __future__ import annotations

from projections.postgres.queries import STATUSES
from projections.redis.apply import CODE
from projections.redis.script import PROGRESS_LUA
from schemas.status import TRACK_OF_PROGRESS, ProgressStatus, TrackStatus


def test_the_words_are_the_stored_ones() -> None:
    # PostgreSQL and Neo4j rows, Redis counter names and the JSON API hold these words.
    assert list(TrackStatus) == ["queued", "analysing", "analysed", "failed", "deleted"]
    assert list(ProgressStatus) == ["queued", "in_progress", "succeeded", "failed", "removed"]
    assert STATUSES == ("queued", "analysing", "analysed", "failed", "deleted")


def test_every_batch_status_has_one_library_status() -> None:
    assert list(TRACK_OF_PROGRESS) == list(ProgressStatus)
    assert list(TRACK_OF_PROGRESS.values()) == list(TrackStatus)


def test_the_lua_script_uses_the_stored_codes_and_counter_names() -> None:
    assert CODE == {"queued": "q", "in_progress": "p", "succeeded": "s", "failed": "f",
                    "removed": "r"}
    assert "local RANK = {q = 1, p = 2, s = 3, f = 3, r = 4}" in PROGRESS_LUA
    assert ("local NAME = {q = 'queued', p = 'in_progress', s = 'succeeded', f = 'failed', "
            "r = 'removed'}") in PROGRESS_LUA
    assert "@" not in PROGRESS_LUA
