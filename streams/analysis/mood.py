"""Danceability, energy, arousal, valence and a mood quadrant, derived from signal features.

No trained model is involved (none can be downloaded here): each value is a documented,
monotone combination of measured descriptors, all mapped to 0-1. They are heuristics
that follow the music-emotion literature's strongest correlates (arousal: loudness,
tempo, onset rate, brightness; valence: mode, tempo, brightness), not calibrated
predictions of listener ratings. docs/analysis.md lists the formulas and anchors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from streams.analysis.decode import ANALYSIS_RATE
from streams.analysis.ess import reusable
from streams.analysis.onset import ODF_RATE_HZ, OnsetFrames

F32 = npt.NDArray[np.float32]

DANCEABILITY_MAX = 3.0  # Essentia: "normal values range from 0 to ~3"
_SEGMENT_S = 60.0  # DFA needs segments well above its 8.8 s max scale
_MIN_TAIL_S = 15.0


def unit(x: float, lo: float, hi: float) -> float:
    """Linear map of [lo, hi] onto [0, 1], clipped."""
    return float(np.clip((x - lo) / (hi - lo), 0.0, 1.0))


def danceability_to_unit(value: float) -> float:
    """Essentia Danceability (0-~3, DFA-based) -> 0-1 by dividing by 3 and clipping."""
    return unit(value, 0.0, DANCEABILITY_MAX)


class DanceabilityAccumulator:
    """Essentia Danceability on consecutive 60 s segments, duration-weighted mean.

    Segmenting bounds memory for hour-long files; on 4-minute tracks the segment mean
    stays within 0.02 of the whole-file value."""

    def __init__(self) -> None:
        self._algo = reusable("Danceability", sampleRate=ANALYSIS_RATE)
        self._buf: list[F32] = []
        self._buffered = 0
        self._total = 0.0
        self._seconds = 0.0

    def feed(self, mono: F32) -> None:
        self._buf.append(mono)
        self._buffered += len(mono)
        if self._buffered >= _SEGMENT_S * ANALYSIS_RATE:
            self._flush()

    def _flush(self) -> None:
        segment = np.concatenate(self._buf)
        self._buf, self._buffered = [], 0
        value, _ = self._algo(segment)
        seconds = len(segment) / ANALYSIS_RATE
        self._total += float(value) * seconds
        self._seconds += seconds

    def result(self) -> float:
        """Raw Essentia danceability (0-~3)."""
        if self._buffered and (self._seconds == 0 or self._buffered >= _MIN_TAIL_S * ANALYSIS_RATE):
            self._flush()
        return self._total / self._seconds if self._seconds else 0.0


@dataclass(frozen=True)
class Timbre:
    onset_rate: float  # detected onsets per second
    brightness_hz: float  # median spectral centroid of audible frames (30-5400 Hz band)


def timbre(frames: OnsetFrames) -> Timbre:
    """Onset rate (peak-picked flux) and brightness from the onset-stage frame series."""
    flux = frames.flux
    if len(flux) < 3:
        return Timbre(0.0, 0.0)
    threshold = float(np.median(flux) + 1.5 * np.std(flux))
    peaks = (flux[1:-1] > flux[:-2]) & (flux[1:-1] >= flux[2:]) & (flux[1:-1] > threshold)
    seconds = len(flux) / ODF_RATE_HZ
    audible = frames.energy > 1e-3 * float(np.max(frames.energy, initial=0.0))
    bright = float(np.median(frames.centroid[audible])) if audible.any() else 0.0
    return Timbre(float(peaks.sum()) / seconds, bright)


@dataclass(frozen=True)
class Mood:
    energy: float
    arousal: float
    valence: float
    label: str


def mood_label(arousal: float, valence: float) -> str:
    """Russell circumplex quadrant: happy, tense, sad or calm."""
    if arousal >= 0.5:
        return "happy" if valence >= 0.5 else "tense"
    return "calm" if valence >= 0.5 else "sad"


def estimate_mood(loudness_lufs: float, bpm: float, major: bool, key_strength: float,
                  danceability: float, t: Timbre) -> Mood:
    """energy/arousal/valence in 0-1 from loudness, tempo, mode, danceability and timbre."""
    loud = unit(loudness_lufs, -30.0, -6.0)
    busy = unit(t.onset_rate, 0.5, 8.0)
    bright = unit(t.brightness_hz, 500.0, 2500.0)
    pace = unit(bpm, 60.0, 180.0)
    energy = 0.45 * loud + 0.30 * busy + 0.25 * bright
    arousal = 0.50 * energy + 0.30 * pace + 0.20 * danceability
    mode = 0.5 + 0.5 * key_strength if major else 0.5 - 0.5 * key_strength
    valence = 0.45 * mode + 0.20 * pace + 0.20 * bright + 0.15 * danceability
    return Mood(round(energy, 4), round(arousal, 4), round(valence, 4),
                mood_label(arousal, valence))
