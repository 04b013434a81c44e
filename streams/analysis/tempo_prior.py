"""Octave check after the metrical walk: periodicity salience weighted by a tempo prior.

The metrical walk (metre.py) reads the pulse hierarchy from the beat-synchronous onset
profile. On clean rendered music that settles the octave; on real recordings (noise,
dense textures, swing) its evidence is weaker and it doubled ballads and mid-tempo rock
(GTZAN: 12 of 50 clips off by x2). This step compares the walk's tempo with its half and
double on two things a listener weighs:

* salience: a harmonic sum over the autocorrelation of the onset envelopes (full band plus
  the < 200 Hz band, where kick and bass mark the beat), sum_k acf(k*lag)/k, plus a little
  of acf(lag/2) for a level whose subdivisions are present;
* a log-normal prior on tempo (Gaussian in octaves), the perceptual preference for pulses
  near 2 Hz that Percival & Tzanetakis (2014) and madmom also use.

The walk's own choice gets a bonus (`walk_bonus`): the prior only overrides it when the
other octave is clearly more plausible. Parameters come from cross-validation on human
labels, folds by genre, with the rendered corpus held at Acc1 >= 0.95
(benchmarks/analysis_tuning.py; docs/analysis.md has the figures).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from streams.analysis.onset import ODF_RATE_HZ

F64 = npt.NDArray[np.float64]

_HARMONICS = 4
CHECK_RANGE_BPM = (40.0, 260.0)


@dataclass(frozen=True)
class OctavePrior:
    """The tunable parts of the octave check (defaults: the cross-validated choice)."""

    prior_bpm: float = 100.0  # centre of the log-normal prior
    prior_octaves: float = 1.5  # its standard deviation, in octaves
    walk_bonus: float = 2.0  # factor in favour of the metrical walk's own level
    low_band_weight: float = 0.5  # weight of the < 200 Hz envelope's autocorrelation
    half_lag_weight: float = 0.25  # weight of acf(lag / 2): subdivisions present


def acf_at(acf: F64, lag: float) -> float:
    """Linear interpolation of a lag-domain autocorrelation at a fractional lag; 0 past its end."""
    i = int(lag)
    if i + 1 >= len(acf):
        return 0.0
    frac = lag - i
    return float(acf[i] * (1 - frac) + acf[i + 1] * frac)


def salience(acf: F64, bpm: float, half_lag_weight: float) -> float:
    """Harmonic-sum periodicity strength of `bpm` in a lag-domain autocorrelation."""
    lag = 60.0 * ODF_RATE_HZ / bpm
    total = sum(max(0.0, acf_at(acf, k * lag)) / k for k in range(1, _HARMONICS + 1))
    return total + half_lag_weight * max(0.0, acf_at(acf, lag / 2))


def prior_weight(bpm: float, prior: OctavePrior) -> float:
    return float(np.exp(-0.5 * (np.log2(bpm / prior.prior_bpm) / prior.prior_octaves) ** 2))


def octave_scores(acf: F64, walked_bpm: float, prior: OctavePrior) -> dict[float, float]:
    """Score of the walk's tempo and of its half and double (those inside CHECK_RANGE_BPM)."""
    lo, hi = CHECK_RANGE_BPM
    scores: dict[float, float] = {}
    for factor in (0.5, 1.0, 2.0):
        bpm = walked_bpm * factor
        if not lo <= bpm <= hi:
            continue
        score = salience(acf, bpm, prior.half_lag_weight) * prior_weight(bpm, prior)
        scores[bpm] = score * (prior.walk_bonus if factor == 1.0 else 1.0)
    return scores


def check_octave(acf: F64, walked_bpm: float, prior: OctavePrior) -> float:
    """The best-scoring of the walk's tempo, its half and its double."""
    scores = octave_scores(acf, walked_bpm, prior)
    if not scores:
        return walked_bpm
    return max(scores, key=lambda bpm: scores[bpm])
