"""Calibrated confidences: the chance, learnt from human labels, that a BPM or key is right.

Raw evidence does not read as a probability: Essentia's key correlation sits at 0.7-0.95
for right and wrong keys alike, and beat agreement (TempoTapMaxAgreement bits) says
whether the beats are steady, not whether their octave is the one a listener taps. On
real recordings most tempo errors are octave errors, and they cluster far from ~100 BPM
(a pulse at 160 is often the double of a felt 80). So:

* tempo score = log(octave share) + log(beat stability), where the octave share is the
  weight of the reported BPM under a log-normal prior relative to its half and double
  (1/3..1), and beat stability maps the agreement bits onto 0.25..1;
* key score = the profile correlation;
* each score goes through a logistic (Platt) map fitted on real recordings, so a
  confidence of 0.8 means "right about 80 % of the time" on music like the development set.

The coefficients come from benchmarks/analysis_tuning.py (cross-validated by genre folds;
the held-out split of most vs least confident is reported there and in docs/analysis.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from streams.analysis.tempo import mma_to_unit


@dataclass(frozen=True)
class Platt:
    """p = 1 / (1 + exp(-(bias + slope * score)))."""

    bias: float
    slope: float

    def __call__(self, score: float) -> float:
        z = self.bias + self.slope * score
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass(frozen=True)
class TempoConfidenceModel:
    centre_bpm: float = 100.0
    octaves: float = 0.75
    platt: Platt = Platt(bias=2.285, slope=1.028)


@dataclass(frozen=True)
class KeyConfidenceModel:
    platt: Platt = Platt(bias=-5.049, slope=7.218)


def octave_share(bpm: float, centre_bpm: float, octaves: float) -> float:
    """Prior weight of `bpm` relative to the sum over it, its half and its double."""
    def weight(b: float) -> float:
        return math.exp(-0.5 * (math.log2(b / centre_bpm) / octaves) ** 2)

    own = weight(bpm)
    return own / (own + weight(2 * bpm) + weight(bpm / 2))


def tempo_score(bpm: float, mma_bits: float, model: TempoConfidenceModel) -> float:
    if bpm <= 0:
        return -30.0
    stability = 0.25 + 0.75 * mma_to_unit(mma_bits)
    return math.log(octave_share(bpm, model.centre_bpm, model.octaves)) + math.log(stability)


def tempo_confidence(bpm: float, mma_bits: float,
                     model: TempoConfidenceModel = TempoConfidenceModel()) -> float:
    return 0.0 if bpm <= 0 else model.platt(tempo_score(bpm, mma_bits, model))


def key_confidence(correlation: float, model: KeyConfidenceModel = KeyConfidenceModel()) -> float:
    return model.platt(correlation)
