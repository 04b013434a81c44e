"""Key, scale and tuning: fine-resolution HPCP from whitened spectral peaks, matched to profiles.

This follows Essentia's KeyExtractor recipe (Hann frames of 4096, SpectralPeaks ->
SpectralWhitening -> HPCP with 4 harmonics -> Key), with changes measured on human-labelled
recordings and on the rendered corpus in the same run (docs/analysis.md):
* 22.05 kHz input: 4096 samples are 186 ms, i.e. 5.4 Hz bins (better low-note
  resolution than 44.1 kHz), and the decode is shared with the other features;
* 120-bin HPCP (10 cents per bin). The tuning is the circular mean of where chroma energy
  falls within a semitone; the mean chroma is shifted by it and folded to 12 semitones.
  The same number is reported as `tuning_cents`;
* every frame is normalised to unit sum before averaging, so that a loud drum fill or a
  sustained bass note does not outvote the rest of the song (real music: MIREX 0.71 -> 0.74);
* the 'braw' profile (Faraldo's profile learnt from raw, unwhitened pop/rock/EDM chroma),
  chosen by genre-fold cross-validation among bgate, edma, edmm, temperley, krumhansl,
  shaath, noland, thpcp: it won in every fold;
* non-overlapping frames: every other frame (hop 8192) cost 0.05 MIREX on real music.
  Past 10 minutes (DJ sets) one frame in four is taken, each weighted for the audio it
  stands for, so a two-hour file costs no more than before (benchmarks/analysis_long_file).
Key() is used with usePolyphony=False: the polyphonic (triad-expanded) profiles,
Essentia's standalone default, confuse the tonic with its subdominant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from streams.analysis.decode import ANALYSIS_RATE
from streams.analysis.ess import reusable
from streams.analysis.notation import Scale, normalize_key

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

FRAME = 4096
HPCP_SIZE = 120  # 10 bins per semitone; bin 0 is A at 440 Hz
BINS_PER_SEMITONE = HPCP_SIZE // 12
HARMONICS = 4
LONG_AFTER_S, LONG_STRIDE = 600.0, 4  # past 10 minutes, one frame in four
_MIN_HZ, _MAX_HZ = 25.0, 3500.0


@dataclass(frozen=True)
class KeyParams:
    """What benchmarks/analysis_tuning.py tunes; the defaults are its cross-validated choice."""

    profile: str = "braw"
    hop: int = 4096  # 8192 (every other frame) halves the cost, costs 0.04 MIREX on real music
    unit_sum_frames: bool = True  # False: louder frames weigh more (Essentia's mean)


DEFAULT_KEY_PARAMS = KeyParams()


@dataclass(frozen=True)
class KeyEstimate:
    key: str
    scale: Scale
    strength: float  # Essentia Key correlation, 0-1
    tuning_cents: float  # -50..+50 relative to A = 440 Hz


def tuning_offset(chroma: F64) -> float:
    """Where energy sits within a semitone, in bins (-5..+5): the circular mean of the
    120-bin chroma folded onto one semitone."""
    folded = chroma.reshape(12, BINS_PER_SEMITONE).sum(axis=0)
    phases = np.exp(2j * np.pi * np.arange(BINS_PER_SEMITONE) / BINS_PER_SEMITONE)
    angle = float(np.angle((folded * phases).sum()))
    return angle / (2 * np.pi) * BINS_PER_SEMITONE


def tuned_pitch_classes(chroma: F64, offset: float) -> F32:
    """Shift the 120-bin chroma by `offset` bins and fold it to 12 pitch classes (A first),
    each the sum of the bins within +-0.45 semitone of the tempered pitch."""
    x = np.arange(HPCP_SIZE, dtype=np.float64)
    shifted = np.interp((x + offset) % HPCP_SIZE, np.arange(HPCP_SIZE + 1),
                        np.append(chroma, chroma[0]))
    half = BINS_PER_SEMITONE // 2 - 1
    pcp = np.array([shifted[np.arange(i * BINS_PER_SEMITONE - half,
                                      i * BINS_PER_SEMITONE + half + 1) % HPCP_SIZE].sum()
                    for i in range(12)])
    return (pcp / max(float(pcp.max()), 1e-12)).astype(np.float32)


class KeyAccumulator:
    """Feed mono 22.05 kHz chunks in order; one accumulator per file (the Essentia
    algorithms it uses are stateless and shared, see `ess.reusable`)."""

    def __init__(self, params: KeyParams = DEFAULT_KEY_PARAMS) -> None:
        self._params = params
        # Essentia-style window normalisation (area 2), so peak thresholds mean the same.
        window = np.hanning(FRAME)
        self._window = (2.0 * window / window.sum()).astype(np.float32)
        self._peaks = reusable("SpectralPeaks", sampleRate=ANALYSIS_RATE,
                               minFrequency=_MIN_HZ, maxFrequency=_MAX_HZ, maxPeaks=60,
                               magnitudeThreshold=1e-4, orderBy="magnitude")
        self._whiten = reusable("SpectralWhitening", sampleRate=ANALYSIS_RATE,
                                maxFrequency=_MAX_HZ)
        self._hpcp = reusable("HPCP", size=HPCP_SIZE, sampleRate=ANALYSIS_RATE,
                              minFrequency=_MIN_HZ, maxFrequency=_MAX_HZ, bandPreset=False,
                              weightType="cosine", windowSize=1.0, harmonics=HARMONICS,
                              normalized="none")
        self._tail = np.zeros(0, dtype=np.float32)
        self._tail_start = 0  # absolute sample index of self._tail[0]
        self._next = 0  # absolute sample index where the next frame starts
        self._sum = np.zeros(HPCP_SIZE, dtype=np.float64)
        self._weight = 0.0

    def _step(self, position: int) -> int:
        """Frame step at `position`: the hop, widened past LONG_AFTER_S (DJ sets) so that
        the key stage costs no more per hour than before; each frame then counts for the
        audio it stands for."""
        if position < LONG_AFTER_S * ANALYSIS_RATE:
            return self._params.hop
        return self._params.hop * LONG_STRIDE

    def feed(self, mono: F32) -> None:
        buf = np.concatenate([self._tail, mono])
        starts: list[int] = []
        while self._next + FRAME <= self._tail_start + len(buf):
            starts.append(self._next - self._tail_start)
            self._next += self._step(self._next)
        keep_from = min(self._next - self._tail_start, len(buf))
        self._tail = buf[keep_from:]
        self._tail_start += keep_from
        if not starts:
            return
        frames = np.stack([buf[i:i + FRAME] for i in starts])
        weights = [self._step(i + self._tail_start - keep_from) / self._params.hop
                   for i in starts]
        spectra = np.abs(np.fft.rfft(frames * self._window, axis=1)).astype(np.float32)
        for spectrum, weight in zip(spectra, weights, strict=True):
            freqs, mags = self._peaks(spectrum)
            if len(freqs) == 0:  # silence
                continue
            white = self._whiten(spectrum, freqs, mags)
            frame = np.asarray(self._hpcp(freqs, white), dtype=np.float64)
            total = float(frame.sum())
            if total > 0:
                self._sum += weight * (frame / total if self._params.unit_sum_frames else frame)
                self._weight += weight

    def chroma(self) -> F64:
        """The mean of the (unit-sum) HPCP frames (120 bins, untuned)."""
        if self._weight == 0:
            return np.zeros(HPCP_SIZE)
        return self._sum / self._weight

    def result(self) -> KeyEstimate | None:
        chroma = self.chroma()
        if float(chroma.max()) <= 0:
            return None
        offset = tuning_offset(chroma)
        return key_of(tuned_pitch_classes(chroma, offset), offset * 100 / BINS_PER_SEMITONE,
                      self._params)


def key_of(pcp: F32, tuning_cents: float, params: KeyParams = DEFAULT_KEY_PARAMS) -> KeyEstimate:
    """Match a 12-bin, A-first pitch-class profile against the key profiles."""
    key, scale, strength, _ = reusable("Key", profileType=params.profile, pcpSize=12,
                                       usePolyphony=False, useThreeChords=False)(pcp)
    return KeyEstimate(normalize_key(key), "minor" if scale == "minor" else "major",
                       float(np.clip(strength, 0.0, 1.0)), float(tuning_cents))
