"""The stall clock starts when records begin to wait, never at the last event taken in."""

from __future__ import annotations

from streams.worker.stall import StallDetector

T = "t.files.normal"


def test_new_work_after_a_long_idle_is_not_a_stall() -> None:
    detector = StallDetector(timeout_s=300)
    assert detector.observe([(T, 0, 10, 10)], now=0).stalled == []  # idle, caught up
    # Nine idle minutes later a file is published: records wait, but only since now.
    verdict = detector.observe([(T, 0, 11, 10)], now=540)
    assert verdict.stalled == [] and verdict.stalled_now == 0
    assert detector.observe([(T, 0, 11, 11)], now=545).stalled == []


def test_waiting_records_without_progress_for_the_timeout_stall_once() -> None:
    detector = StallDetector(timeout_s=60)
    detector.observe([(T, 0, 20, 10)], now=0)
    assert detector.observe([(T, 0, 25, 10)], now=59).stalled == []
    verdict = detector.observe([(T, 0, 25, 10)], now=60)
    assert [(s.partition, s.waiting, s.seconds) for s in verdict.stalled] == [(0, 15, 60)]
    assert verdict.stalled_now == 1
    again = detector.observe([(T, 0, 25, 10)], now=120)
    assert again.stalled == [] and again.stalled_now == 1  # reported once per episode


def test_progress_restarts_the_clock_and_reports_recovery() -> None:
    detector = StallDetector(timeout_s=60)
    detector.observe([(T, 1, 20, 10)], now=0)
    detector.observe([(T, 1, 20, 10)], now=70)
    verdict = detector.observe([(T, 1, 20, 12)], now=80)
    assert verdict.recovered == [(T, 1)] and verdict.stalled_now == 0
    # slow but moving (one record per 50 s against a 60 s timeout): never a stall
    for step in range(1, 8):
        verdict = detector.observe([(T, 1, 20, 12 + step)], now=80 + 50 * step)
        assert verdict.stalled == [] and verdict.stalled_now == 0


def test_partitions_are_independent_and_forgotten_when_gone() -> None:
    detector = StallDetector(timeout_s=10)
    detector.observe([(T, 0, 5, 0), (T, 1, 5, 5)], now=0)
    verdict = detector.observe([(T, 0, 5, 0), (T, 1, 6, 5)], now=10)
    assert [s.partition for s in verdict.stalled] == [0]
    assert detector.observe([(T, 1, 6, 6)], now=11).stalled_now == 0
