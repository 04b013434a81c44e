"""The octave check: salience of a lag-domain ACF, the log-normal prior, the walk's bonus."""

from __future__ import annotations

import numpy as np
import pytest

from streams.analysis.onset import ODF_RATE_HZ
from streams.analysis.tempo_prior import (
    OctavePrior,
    check_octave,
    octave_scores,
    prior_weight,
    salience,
)


def pulse_acf(bpm: float, decay: float = 0.0, lags: int = 1024) -> np.ndarray:
    """ACF of an ideal pulse train at `bpm`: peaks at every multiple of its period."""
    period = 60.0 * ODF_RATE_HZ / bpm
    acf = np.zeros(lags)
    for k in range(0, int(lags / period) + 1):
        i = round(k * period)
        if i < lags:
            acf[i] = 1.0 - decay * k
    return acf


def test_salience_is_highest_on_the_pulse_and_its_multiples() -> None:
    acf = pulse_acf(120.0)
    on, off = salience(acf, 120.0, 0.0), salience(acf, 97.0, 0.0)
    assert on > 1.5 and off < 0.2 * on


def test_prior_peaks_at_its_centre_and_is_symmetric_in_octaves() -> None:
    prior = OctavePrior(prior_bpm=100.0, prior_octaves=1.0)
    assert prior_weight(100.0, prior) == pytest.approx(1.0)
    assert prior_weight(200.0, prior) == pytest.approx(prior_weight(50.0, prior))
    assert prior_weight(200.0, prior) == pytest.approx(np.exp(-0.5))


def test_prior_moves_an_unsupported_double_down_but_the_bonus_can_hold_it() -> None:
    # A pulse whose ACF supports 84 and 168 alike (168's multiples are 84's too).
    acf = pulse_acf(168.0)
    narrow = OctavePrior(prior_bpm=100.0, prior_octaves=0.5, walk_bonus=1.0)
    assert check_octave(acf, 168.0, narrow) == pytest.approx(84.0)
    held = OctavePrior(prior_bpm=100.0, prior_octaves=0.5, walk_bonus=50.0)
    assert check_octave(acf, 168.0, held) == pytest.approx(168.0)


def test_candidates_outside_the_range_are_not_scored() -> None:
    scores = octave_scores(pulse_acf(60.0), 45.0, OctavePrior())
    assert set(scores) == {45.0, 90.0}  # 22.5 BPM is below the range
