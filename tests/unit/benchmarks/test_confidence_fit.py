"""Platt fitting and the 80/20 split used to calibrate and judge confidences."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.accuracy_report import tempo_error_kind
from benchmarks.confidence_fit import fit_platt, reliability, split_80_20


def test_platt_recovers_a_known_logistic() -> None:
    rng = np.random.default_rng(3)
    scores = rng.uniform(-3, 3, 4000)
    truth = 1 / (1 + np.exp(-(0.5 + 2.0 * scores)))
    outcomes = rng.uniform(size=scores.size) < truth
    platt = fit_platt(scores.tolist(), outcomes.astype(float).tolist())
    assert platt.bias == pytest.approx(0.5, abs=0.15)
    assert platt.slope == pytest.approx(2.0, abs=0.25)


def test_a_decreasing_relation_gives_a_constant_base_rate() -> None:
    scores = [0.0, 1.0, 2.0, 3.0, 4.0]
    outcomes = [1.0, 1.0, 1.0, 0.0, 0.0]
    platt = fit_platt(scores, outcomes)
    assert platt.slope == 0.0
    assert platt(0.0) == pytest.approx(0.6, abs=0.01)


def test_split_and_reliability_count_what_they_say() -> None:
    conf = [0.1, 0.2, 0.7, 0.8, 0.9, 0.95, 0.5, 0.6, 0.65, 0.99]
    right = [0, 0, 1, 1, 1, 1, 1, 0, 1, 1]
    split = split_80_20(conf, right)
    assert (split["n_least"], split["least_confident_20pct"]) == (2, 0.0)
    assert split["most_confident_80pct"] == pytest.approx(7 / 8)
    bins = reliability(conf, right)
    assert sum(b["n"] for b in bins) == len(conf)


@pytest.mark.parametrize(("estimate", "kind"), [
    (120.0, "correct"), (240.0, "x2"), (60.0, "x1/2"), (180.0, "x3/2"), (80.0, "x2/3"),
    (360.0, "x3"), (40.0, "x1/3"), (97.0, "other")])
def test_tempo_error_kinds(estimate: float, kind: str) -> None:
    assert tempo_error_kind(estimate, 120.0) == kind
