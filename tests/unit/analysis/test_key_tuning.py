"""Tuning estimate and fold of the 120-bin chroma; key of detuned tones; calibrated confidences."""

from __future__ import annotations

import numpy as np
import pytest

from streams.analysis.confidence import (
    Platt,
    TempoConfidenceModel,
    key_confidence,
    octave_share,
    tempo_confidence,
)
from streams.analysis.decode import ANALYSIS_RATE
from streams.analysis.key import HPCP_SIZE, KeyAccumulator, tuned_pitch_classes, tuning_offset


def chord_audio(root_hz: float, cents: float, seconds: float = 8.0) -> np.ndarray:
    """A sustained major triad with 3 harmonics per note, detuned by `cents`."""
    t = np.arange(int(seconds * ANALYSIS_RATE)) / ANALYSIS_RATE
    shift = 2 ** (cents / 1200)
    out = np.zeros_like(t)
    for semitones in (0, 4, 7, 12):
        f0 = root_hz * 2 ** (semitones / 12) * shift
        for h in (1, 2, 3):
            out += np.sin(2 * np.pi * f0 * h * t) / h
    return (0.1 * out).astype(np.float32)


@pytest.mark.parametrize("cents", [-30.0, 0.0, 20.0, 40.0])
def test_tuning_of_a_detuned_chord(cents: float) -> None:
    acc = KeyAccumulator()
    acc.feed(chord_audio(261.63, cents))  # C major
    estimate = acc.result()
    assert estimate is not None
    assert estimate.tuning_cents == pytest.approx(cents, abs=6.0)
    assert (estimate.key, estimate.scale) == ("C", "major")


def test_offset_of_a_chroma_peaked_between_bins_and_its_fold() -> None:
    chroma = np.zeros(HPCP_SIZE)
    chroma[3::10] = 1.0  # every semitone's energy 30 cents sharp
    offset = tuning_offset(chroma)
    assert offset == pytest.approx(3.0, abs=1e-6)
    pcp = tuned_pitch_classes(chroma, offset)
    assert pcp.shape == (12,) and np.allclose(pcp, 1.0)


def test_confidences_are_probabilities_that_rise_with_their_evidence() -> None:
    platt = Platt(bias=-5.0, slope=7.0)
    assert 0.0 < platt(0.5) < platt(0.9) < 1.0
    assert key_confidence(0.95) > key_confidence(0.6)
    model = TempoConfidenceModel()
    steady, shaky = tempo_confidence(100.0, 4.0, model), tempo_confidence(100.0, 0.5, model)
    assert 0.0 < shaky < steady < 1.0
    assert tempo_confidence(0.0, 4.0) == 0.0  # no tempo found


def test_octave_share_favours_tempos_near_the_prior_centre() -> None:
    assert octave_share(100.0, 100.0, 0.75) > octave_share(170.0, 100.0, 0.75)
    assert 1 / 3 < octave_share(170.0, 100.0, 0.75) < 1.0


def test_chunking_and_the_long_file_stride_leave_the_chroma_unchanged(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import streams.analysis.key as key_module

    monkeypatch.setattr(key_module, "LONG_AFTER_S", 4.0)  # stride widens after 4 s here
    audio = np.concatenate([chord_audio(261.63, 0.0, 6.0), chord_audio(293.66, 0.0, 6.0)])
    whole = KeyAccumulator()
    whole.feed(audio)
    chunked = KeyAccumulator()
    for start in range(0, len(audio), 12_345):
        chunked.feed(audio[start:start + 12_345])
    assert np.array_equal(whole.chroma(), chunked.chroma())
    # Past the switch one frame in four is taken, each counting for four: the D chord
    # (second half) still weighs about as much as the C chord (first half).
    dense = key_module.KeyParams()
    monkeypatch.setattr(key_module, "LONG_AFTER_S", 1e9)
    reference = KeyAccumulator(dense)
    reference.feed(audio)
    assert np.allclose(whole.chroma(), reference.chroma(), atol=0.02)
