"""Beat grid: a constant grid at the file's BPM, phase-aligned to the tracked beats, and bars.

DJ software (rekordbox, Traktor, Mixxx) stores a grid, not only a BPM: the time of the first
beat and a constant period. The phase is the circular mean of the tracked beat times
modulo the period, so a few missed or extra beats do not move it; `grid_confidence` is the
share of tracked beats within 30 ms of that grid (a steady, well-tracked track is near 1,
a rubato or drifting one low). Bars, where they can be heard: the beat position (mod 3 or
mod 4) whose < 200 Hz onsets (kick, bass) are strongest is the downbeat, if it stands out
from the other positions by DOWNBEAT_CONTRAST over at least MIN_BARS bars; metre 3 is
chosen over 4 when its contrast is the larger.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from streams.analysis.onset import ODF_RATE_HZ

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

GRID_TOLERANCE_S = 0.030
DOWNBEAT_CONTRAST = 1.25  # strongest position's mean accent / the others' mean
MIN_BARS = 4
# Below this share of the full-band onset strength at the beats, the < 200 Hz band holds
# no kick or bass to mark bars (real music: 0.02-0.13 on gtzan-dev; a click track ~0), and
# a contrast between near-zero values means nothing.
MIN_LOW_SHARE = 0.01
# Degara reports a beat at its onset-envelope frame, and frames are stamped at their start:
# the 46 ms window reaches an onset before its centre does, so beats come out ~35 ms early.
# Measured on click tracks at 87-137 BPM (sd 3-18 ms; tests/unit/analysis/test_grid.py).
ONSET_LATENCY_S = -0.035


@dataclass(frozen=True)
class BeatGrid:
    first_beat_s: float  # first grid beat at or after 0 s
    grid_confidence: float  # share of tracked beats within 30 ms of the grid
    downbeat_s: float | None  # first downbeat at or after 0 s, where bars are audible
    beats_per_bar: int | None


def grid_phase(beats: F64, period: float) -> float:
    """Circular mean of the beat times modulo `period`, in [0, period)."""
    angles = 2 * np.pi * np.mod(beats, period) / period
    mean = float(np.angle(np.exp(1j * angles).sum()))
    return float(np.mod(mean / (2 * np.pi) * period, period))


def on_grid_share(beats: F64, first: float, period: float) -> float:
    offset = np.mod(beats - first + period / 2, period) - period / 2
    return float((np.abs(offset) <= GRID_TOLERANCE_S).mean())


def _accents(beats: F64, low: F32) -> F64:
    """Low-band onset strength at each beat (max within +-2 frames)."""
    frames = np.round(beats * ODF_RATE_HZ).astype(int)
    out = np.zeros(len(frames))
    for i, f in enumerate(frames):
        window = low[max(0, f - 2):f + 3]
        out[i] = float(window.max()) if len(window) else 0.0
    return out


def bar_position(tracked: F64, low: F32, full: F32, first: float, period: float
                 ) -> tuple[int, int, float] | None:
    """(beats per bar, downbeat position in grid beats, contrast) or None if inaudible.
    `tracked` are the tracker's beat times: the envelopes are read at those frames."""
    index = np.round((tracked - ONSET_LATENCY_S - first) / period).astype(int)
    accents = _accents(tracked, low)
    if accents.mean() < MIN_LOW_SHARE * max(float(_accents(tracked, full).mean()), 1e-12):
        return None
    best: tuple[int, int, float] | None = None
    for metre in (4, 3):
        if len(tracked) < MIN_BARS * metre:
            continue
        means = np.array([accents[index % metre == j].mean() if (index % metre == j).any()
                          else 0.0 for j in range(metre)])
        strongest = int(np.argmax(means))
        others = float(np.delete(means, strongest).mean())
        contrast = float(means[strongest] / others) if others > 0 else 0.0
        if best is None or contrast > best[2]:
            best = (metre, strongest, contrast)
    return best if best is not None and best[2] >= DOWNBEAT_CONTRAST else None


def first_beat(phase: float, period: float) -> float:
    """The first grid beat at or after 0 s; a phase just below a whole period (a beat a few
    ms before the file starts) is the beat at 0, not the next one."""
    return max(0.0, phase - period) if phase > period - GRID_TOLERANCE_S else phase


def beat_grid(beats: F64, bpm: float, low: F32, full: F32) -> BeatGrid | None:
    """The grid of tracked `beats` (s) at `bpm`; None without a tempo or enough beats.
    `low` and `full` are the normalised < 200 Hz and full-band onset envelopes."""
    if bpm <= 0 or len(beats) < 4:
        return None
    period = 60.0 / bpm
    onsets = beats - ONSET_LATENCY_S
    first = first_beat(grid_phase(onsets, period), period)
    confidence = on_grid_share(onsets, first, period)
    bars = bar_position(beats, low, full, first, period)
    if bars is None:
        return BeatGrid(round(first, 4), round(confidence, 3), None, None)
    metre, position, _ = bars
    downbeat = first_beat(float(np.mod(first + position * period, metre * period)),
                          metre * period)
    return BeatGrid(round(first, 4), round(confidence, 3), round(downbeat, 4), metre)
