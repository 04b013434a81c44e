"""Pure tests of the Redis progress projector: status mapping, ranking and last-writer-wins."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from projections.base import Positioned, micros
from projections.redis.apply import (
    BatchTimes,
    FileStatus,
    RedisProgressProjector,
    Status,
    merge,
    reduce_claims,
    status_of,
)
from tests.unit.schemas.samples import AT, FID, all_samples

T0 = micros(AT)


def claim(status: Status, at: int = T0, eid: str = "e", fid: str = "f1",
          cid: str = "c1") -> FileStatus:
    return FileStatus(cid, fid, status, at, eid)


def test_status_of_every_event_type() -> None:
    got = {e.event_type: status_of(e) for e in all_samples()}  # type: ignore[arg-type]
    assert got == {
        "FileDiscovered": "queued", "FileModified": "queued", "AnalysisRequested": "queued",
        "FileMoved": None, "AnalysisStarted": "analysing", "AnalysisCompleted": "analysed",
        "AnalysisFailed": "failed", "FileDeleted": "deleted",
    }


def test_micros_is_exact() -> None:
    at = datetime(2026, 11, 24, 12, 0, 0, 123457, tzinfo=UTC)
    assert micros(at) == 1795521600123457
    assert micros(at) < 2**53  # exact as a Lua double


def test_late_started_never_overrides_analysed() -> None:
    done = claim("analysed", T0, "e2")
    started_later_clock = claim("analysing", T0 + 5_000_000, "e3")  # skewed agent clock
    assert merge(done, started_later_clock) == done
    assert merge(started_later_clock, done) == done


def test_queued_after_started_does_not_reopen() -> None:
    started = claim("analysing", T0, "e2")
    rediscovered = claim("queued", T0 + 1, "e9")
    assert merge(started, rediscovered) == started


def test_terminal_outcomes_latest_wins() -> None:
    failed = claim("failed", T0, "e2")
    retried_ok = claim("analysed", T0 + 1, "e3")
    assert merge(failed, retried_ok) == retried_ok
    assert merge(retried_ok, failed) == retried_ok
    later_failure = claim("failed", T0 + 2, "e4")
    assert merge(retried_ok, later_failure) == later_failure


def test_deleted_is_absorbing() -> None:
    deleted = claim("deleted", T0, "e1")
    for other in ("queued", "analysing", "analysed", "failed"):
        assert merge(deleted, claim(other, T0 + 10, "e5")) == deleted  # type: ignore[arg-type]


def test_equal_times_break_ties_on_event_id_bytes() -> None:
    a, b = claim("analysed", T0, "A"), claim("failed", T0, "a")
    assert merge(a, b) == b and merge(b, a) == b  # b"a" > b"A"
    short, long = claim("failed", T0, "ab"), claim("analysed", T0, "abc")
    assert merge(short, long) == long


def test_same_event_is_idempotent() -> None:
    c = claim("analysed")
    assert merge(c, c) == c


def _random_claims(rng: random.Random, n: int) -> list[FileStatus]:
    statuses: list[Status] = ["queued", "analysing", "analysed", "failed", "deleted"]
    return [claim(rng.choice(statuses), T0 + rng.randrange(5), f"e{i}",
                  fid=f"f{rng.randrange(7)}", cid=f"c{rng.randrange(2)}") for i in range(n)]


@pytest.mark.parametrize("seed", range(20))
def test_reduce_is_order_and_duplicate_independent(seed: int) -> None:
    rng = random.Random(seed)
    items = _random_claims(rng, 60)
    expected = reduce_claims(items)
    shuffled = items + rng.choices(items, k=40)
    rng.shuffle(shuffled)
    got = reduce_claims(shuffled)
    assert set(got.files) == set(expected.files)
    assert set(got.batches) == set(expected.batches)
    # Merging reduced halves equals reducing the whole (what the writer relies on).
    half = len(shuffled) // 2
    left, right = reduce_claims(shuffled[:half]), reduce_claims(shuffled[half:])
    assert set(reduce_claims([*left.files, *right.files]).files) == set(expected.files)


def test_batch_times_are_min_max_and_latest_terminal() -> None:
    items = [claim("queued", T0 + 3, "e1"), claim("analysing", T0 + 1, "e2", fid="f2"),
             claim("analysed", T0 + 7, "e3"), claim("failed", T0 + 5, "e4", fid="f2"),
             claim("queued", T0 + 9, "e5", fid="f3")]
    assert reduce_claims(items).batches == (BatchTimes("c1", T0 + 1, T0 + 9, T0 + 7),)
    assert reduce_claims(items[:2]).batches[0].done_at_us is None


def test_projector_apply_ignores_moves_and_keeps_one_row_per_file() -> None:
    events = all_samples()
    batch = [Positioned(e, "topic", 0, n) for n, e in enumerate(events)]  # type: ignore[arg-type]
    intents = RedisProgressProjector().apply(batch)
    assert RedisProgressProjector.name == "redis"
    # All samples share one file and batch; FileDeleted dominates.
    assert len(intents.files) == 1
    row = intents.files[0]
    assert (row.correlation_id, row.file_id, row.status) == ("corr-1", FID, "deleted")
    assert intents.batches[0].first_at_us == T0


def test_projector_apply_empty_batch() -> None:
    intents = RedisProgressProjector().apply([])
    assert intents.files == () and intents.batches == ()


def test_time_offsets_keep_precision() -> None:
    at = AT + timedelta(microseconds=1)
    assert micros(at) - micros(AT) == 1
