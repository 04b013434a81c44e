"""Tempo estimation on synthetic onset envelopes: octave correction, mapping, refinement."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from streams.analysis.metre import level_ratios, metrical_bpm
from streams.analysis.onset import ODF_RATE_HZ
from streams.analysis.tempo import (
    MMA_MAX_BITS,
    agreement_bits,
    estimate_tempo,
    mma_to_unit,
    refine_bpm,
)


def envelope(bpm: float, bar: dict[float, float], beats_per_bar: int = 4,
             seconds: float = 30.0, seed: int = 0) -> np.ndarray:
    """An onset envelope: `bar` maps a position in beats (0 <= p < beats_per_bar) to the
    onset strength there, repeated for `seconds`, with mild noise and timing jitter."""
    rng = np.random.default_rng(seed)
    n = int(seconds * ODF_RATE_HZ)
    odf = rng.uniform(0.0, 0.02, n).astype(np.float32)
    period = 60.0 * ODF_RATE_HZ / bpm
    bars = int(seconds * bpm / 60 / beats_per_bar) + 1
    for b in range(bars):
        for pos, strength in bar.items():
            frame = round((b * beats_per_bar + pos) * period + rng.normal(0, 0.3))
            if 0 <= frame < n:
                odf[frame] += strength * rng.uniform(0.9, 1.1)
    return odf


def tempo_of(odf: np.ndarray) -> float:
    return estimate_tempo(odf, odf, odf).bpm


HATS_8THS = {p + 0.5: 0.25 for p in range(4)}


@pytest.mark.parametrize(("name", "bpm", "bar", "beats"), [
    # kick/snare backbeat with soft eighth hats: the backbeat level, not half of it
    ("fast rock", 172.0, {0: 1.0, 1: 0.9, 2: 1.0, 3: 0.9, **HATS_8THS}, 4),
    # slow ballad: weak eighths must not double it
    ("ballad", 66.0, {0: 1.0, 1: 0.7, 2: 0.9, 3: 0.7, **HATS_8THS}, 4),
    # four-on-the-floor with loud off-beat hats: 124, not 248
    ("house", 124.0, {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0, 0.5: 0.6, 1.5: 0.6, 2.5: 0.6, 3.5: 0.6}, 4),
    # drum & bass: sixteenth-level hats relative to the half-tempo reading
    ("dnb", 174.0, {0: 1.0, 1: 1.0, 2.5: 0.7, 3: 1.0, **HATS_8THS}, 4),
    # waltz: beats in threes, not the bar (50) nor two beats (75)
    ("waltz", 150.0, {0: 1.0, 1: 0.6, 2: 0.6}, 3),
    ("plain clicks", 120.0, {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0}, 4),
])
def test_octave_correction(name: str, bpm: float, bar: dict[float, float], beats: int) -> None:
    estimate = tempo_of(envelope(bpm, bar, beats))
    assert estimate == pytest.approx(bpm, rel=0.02), name


def test_metrical_walk_stops_where_midpoints_are_weak() -> None:
    profile = np.zeros(24)
    profile[[0, 12]] = 1.0  # two equal beats per start period
    profile[[6, 18]] = 0.3  # weak subdivisions
    assert metrical_bpm(profile, 60.0) == pytest.approx(120.0)
    mid, quarter = level_ratios(profile, 24)
    assert mid == pytest.approx(1.0) and quarter == pytest.approx(0.3)


def test_metrical_walk_doubles_on_sixteenth_activity_below_90() -> None:
    profile = np.zeros(24)
    profile[[0, 12]] = 1.0
    profile[[6, 18]] = 0.5
    profile[[3, 9, 15, 21]] = 0.1  # sixteenths of an 85 BPM reading
    assert metrical_bpm(profile, 42.5) == pytest.approx(170.0)


def test_silence_gives_zero_tempo() -> None:
    zeros = np.zeros(3000, dtype=np.float32)
    tempo = estimate_tempo(zeros, zeros, zeros)
    assert (tempo.bpm, tempo.mma_bits, tempo.beats_count) == (0.0, 0.0, 0)  # confidence 0


@pytest.mark.parametrize(("bits", "unit"), [(0.0, 0.0), (1.0, 0.2), (1.5, 0.4), (3.5, 0.8),
                                            (MMA_MAX_BITS, 1.0), (9.0, 1.0), (-1.0, 0.0)])
def test_confidence_mapping_knots(bits: float, unit: float) -> None:
    assert mma_to_unit(bits) == pytest.approx(unit)


def test_confidence_mapping_is_monotone() -> None:
    values = [mma_to_unit(b) for b in np.linspace(0, MMA_MAX_BITS, 100)]
    assert all(b >= a for a, b in itertools.pairwise(values))


def test_agreement_is_high_for_identical_and_low_for_unrelated_beats() -> None:
    beats = np.arange(0.5, 60, 0.5)
    rng = np.random.default_rng(1)
    assert agreement_bits([beats, beats + 0.005, beats - 0.005]) > 4.0
    random_beats = np.sort(rng.uniform(0, 60, len(beats)))
    assert agreement_bits([beats, random_beats]) < 1.5
    assert agreement_bits([beats]) == 0.0


def test_refine_bpm_uses_consistent_intervals_only() -> None:
    beats = np.arange(0, 30, 60 / 128.0)
    beats = np.sort(np.concatenate([beats, [10.1]]))  # one spurious extra beat
    assert refine_bpm(beats, 127.0) == pytest.approx(128.0, rel=0.003)
    assert refine_bpm(beats[:3], 127.0) == 127.0  # too few beats: keep the estimate
