"""Pure tests of the progress read model: counts, expected totals, throughput and ETA, and a
file's state read from its entry."""

from __future__ import annotations

from projections.redis.progress import progress_from_fields, state_of_entry

T0 = 1_795_521_600_000_000


def fields(**kw: int) -> dict[str, str]:
    base = {"files": 0, "queued": 0, "in_progress": 0, "succeeded": 0, "failed": 0,
            "removed": 0, "first_at": T0, "last_at": T0}
    base.update(kw)
    return {k: str(v) for k, v in base.items()}


def test_unknown_batch_is_none() -> None:
    assert progress_from_fields("c", {}, None) is None


def test_running_batch_rate_and_eta() -> None:
    p = progress_from_fields("c", fields(files=10, queued=4, in_progress=2, succeeded=3,
                                         failed=1, done_at=T0 + 2_000_000), None)
    assert p is not None
    assert (p.total, p.finished, p.done) == (10, 4, False)
    assert p.throughput_per_s == 2.0  # 4 files in 2 s of event time
    assert p.eta_s == 3.0  # 6 remaining at 2/s
    assert p.finished_at is None


def test_done_batch() -> None:
    p = progress_from_fields("c", fields(files=5, succeeded=4, failed=0, removed=1,
                                         done_at=T0 + 1_000_000), None)
    assert p is not None and p.done and p.eta_s == 0.0
    assert p.total == 4 and p.removed == 1
    assert p.finished_at is not None and p.to_json()["finished_at"].endswith("+00:00")


def test_expected_total_counts_unseen_files_as_queued() -> None:
    p = progress_from_fields("c", fields(files=2, succeeded=2, done_at=T0 + 1), 10)
    assert p is not None
    assert (p.total, p.queued, p.done) == (10, 8, False)
    only_expected = progress_from_fields("c", {}, 3)
    assert only_expected is not None
    assert (only_expected.total, only_expected.queued, only_expected.done) == (3, 3, False)
    assert only_expected.throughput_per_s is None and only_expected.eta_s is None


def test_file_state_is_the_status_word_of_the_stored_letter() -> None:
    got = [state_of_entry(f"{code} {T0} e1") for code in "qpsfr"]
    assert got == ["queued", "analysing", "analysed", "failed", "deleted"]


def test_file_state_of_an_entry_in_the_former_words_reads_as_todays() -> None:
    # Entries written before the one vocabulary said in_progress/succeeded/removed.
    assert [state_of_entry(f"{w} {T0} e1") for w in ("in_progress", "succeeded", "removed")] \
        == ["analysing", "analysed", "deleted"]
    assert state_of_entry(f"analysed {T0} e1") == "analysed"
    assert state_of_entry("x 1 e1") == "x"  # unknown: shown as stored, not hidden
