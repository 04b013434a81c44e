"""Key and scale: HPCP chroma from whitened spectral peaks, averaged, matched to key profiles.

This follows Essentia's KeyExtractor recipe (Hann frames of 4096, SpectralPeaks ->
SpectralWhitening -> HPCP with 4 harmonics, Key with monophonic 'bgate' profiles), with
three changes measured on the corpus (docs/analysis.md):
* 22.05 kHz input: 4096 samples are 186 ms, i.e. 5.4 Hz bins (better low-note
  resolution than 44.1 kHz), and the decode is shared with the other features;
* hop 8192 (every other frame): tonality changes slowly, half the cost, same accuracy;
* 36-bin HPCP averaged over the file and re-centred on its dominant 1/3-semitone
  offset, so detuned recordings still land on the tempered bins.
Key() is used with usePolyphony=False: the polyphonic (triad-expanded) profiles,
Essentia's standalone default, confuse the tonic with its subdominant (MIREX 0.78 vs
0.99 on the development corpus).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from streams.analysis.decode import ANALYSIS_RATE
from streams.analysis.ess import es, reusable
from streams.analysis.notation import Scale, normalize_key

F32 = npt.NDArray[np.float32]

FRAME, HOP = 4096, 8192
HPCP_SIZE = 36
PROFILE = "bgate"
HARMONICS = 4
_MIN_HZ, _MAX_HZ = 25.0, 3500.0


@dataclass(frozen=True)
class KeyEstimate:
    key: str
    scale: Scale
    strength: float  # Essentia Key correlation, 0-1


class KeyAccumulator:
    """Feed mono 22.05 kHz chunks in order; one accumulator per file (the Essentia
    algorithms it uses are stateless and shared, see `ess.reusable`)."""

    def __init__(self, frame: int = FRAME, hop: int = HOP, profile: str = PROFILE) -> None:
        self._frame, self._hop, self._profile = frame, hop, profile
        # Essentia-style window normalisation (area 2), so peak thresholds mean the same.
        window = np.hanning(frame)
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
        self._sum = np.zeros(HPCP_SIZE, dtype=np.float64)
        self._frames = 0

    def feed(self, mono: F32) -> None:
        buf = np.concatenate([self._tail, mono])
        if len(buf) < self._frame:
            self._tail = buf
            return
        frames = np.lib.stride_tricks.sliding_window_view(buf, self._frame)[::self._hop]
        self._tail = buf[len(frames) * self._hop:]
        spectra = np.abs(np.fft.rfft(frames * self._window, axis=1)).astype(np.float32)
        for spectrum in spectra:
            freqs, mags = self._peaks(spectrum)
            if len(freqs) == 0:  # silence
                continue
            white = self._whiten(spectrum, freqs, mags)
            self._sum += np.asarray(self._hpcp(freqs, white), dtype=np.float64)
            self._frames += 1

    def chroma(self) -> F32:
        """The mean HPCP (unnormalised frames: louder frames weigh more), detuning-corrected,
        max-normalised (36 bins)."""
        if self._frames == 0 or float(self._sum.max()) <= 0:
            return np.zeros(HPCP_SIZE, dtype=np.float32)
        mean = self._sum / self._frames
        per_bin = HPCP_SIZE // 12
        offset = int(np.argmax(mean.reshape(12, per_bin).sum(axis=0)))
        # Bins 0 mod 3 are the tempered pitches (A=440 reference); move the dominant
        # sub-bin there, choosing the nearer semitone for the shift direction.
        shift = -offset if offset <= per_bin // 2 else per_bin - offset
        centred = np.roll(mean, shift)
        return (centred / max(float(centred.max()), 1e-12)).astype(np.float32)

    def result(self) -> KeyEstimate | None:
        pcp = self.chroma()
        if float(pcp.max()) <= 0:
            return None
        key, scale, strength, _ = es.Key(profileType=self._profile, pcpSize=HPCP_SIZE,
                                         usePolyphony=False, useThreeChords=False)(pcp)
        return KeyEstimate(normalize_key(key), "minor" if scale == "minor" else "major",
                           float(np.clip(strength, 0.0, 1.0)))
