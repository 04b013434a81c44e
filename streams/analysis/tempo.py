"""Tempo, beats and beat confidence from the onset envelope, with metrical octave correction.

Pipeline (docs/analysis.md has the measurements behind each choice):
1. Periodicity: autocorrelation of the onset envelope, averaged over ~12 s windows (robust
   to slow tempo drift); the start level is the strongest *metrically consistent* lag in
   the 40-80 BPM band (bar or half-bar), scored with its 1/2,1/4 or 1/3,1/6 sub-lags so
   that off-metre lags (e.g. 2.5 beats of a four-on-the-floor) lose.
2. Octave correction (metre.py): a beat-synchronous onset profile at the start level says
   whether each faster level is also a beat level (strong mid-points / sixteenth activity)
   or only a subdivision; the walk stops at the tactus. A bare prior alone necessarily
   halves fast rock/DnB or doubles ballads; the walk alone doubles real ballads, so
   tempo_prior.py then weighs the walk's level against its half and double with a
   harmonic-sum salience and a log-normal tempo prior.
3. Beats: Essentia TempoTapDegara on the same envelope, constrained to +-12 % around the
   chosen tempo so that it cannot jump octaves; BPM = mean of its consistent intervals.
4. Beat agreement: Essentia TempoTapMaxAgreement between beat sequences tracked on three
   band-limited envelopes (the multifeature tracker's idea at a fraction of its cost), in
   bits (0-5.32); confidence.py turns it, with the tempo, into a calibrated bpm_confidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from streams.analysis.ess import es
from streams.analysis.grid import BeatGrid, beat_grid
from streams.analysis.metre import MAX_BPM, MIN_BPM, Q_FAST, beat_profile, metrical_bpm
from streams.analysis.onset import ODF_RATE_HZ
from streams.analysis.tempo_prior import OctavePrior, acf_at, check_octave

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

ACF_WINDOW, ACF_HOP = 1024, 512  # ~11.9 s windows, 50 % overlap
_ACF_BATCH = 64
_BEAT_SEGMENT, _BEAT_OVERLAP = 32768, 1024  # ~6.3 min segments, ~12 s overlap
START_BAND_BPM = (40.0, 80.0)
_DEGARA_SPAN = 1.12  # beat tracker tempo range around our estimate
MMA_MAX_BITS = 5.32  # log2(40): the information-gain ceiling of TempoTapMaxAgreement
# Essentia's guidance for MMA bits: <1 very low, 1-1.5 low, 1.5-3.5 good, >3.5 excellent.
# Piecewise-linear knots put those boundaries at 0.2 / 0.4 / 0.8 on our 0-1 scale.
_MMA_KNOTS = ((0.0, 0.0), (1.0, 0.2), (1.5, 0.4), (3.5, 0.8), (MMA_MAX_BITS, 1.0))


@dataclass(frozen=True)
class TempoParams:
    """What benchmarks/analysis_tuning.py tunes; the defaults are its cross-validated choice."""

    q_fast: float = Q_FAST
    max_bpm: float = MAX_BPM
    octave: OctavePrior = field(default_factory=OctavePrior)


DEFAULT_TEMPO_PARAMS = TempoParams()


@dataclass(frozen=True)
class Tempo:
    bpm: float
    mma_bits: float  # raw agreement, 0-5.32 (confidence.py turns it into bpm_confidence)
    beats_count: int
    grid: BeatGrid | None = None


def mma_to_unit(bits: float) -> float:
    """Map TempoTapMaxAgreement / RhythmExtractor2013 confidence (0-5.32) onto 0-1."""
    xs, ys = zip(*_MMA_KNOTS, strict=True)
    return float(np.interp(bits, xs, ys))


def normalise(flux: F32) -> F32:
    """Subtract a 0.4 s moving average and half-wave rectify: keeps onsets, drops level."""
    width = max(1, round(0.4 * ODF_RATE_HZ))
    kernel = np.ones(width, dtype=np.float32) / width
    return np.clip(flux - np.convolve(flux, kernel, mode="same"), 0, None).astype(np.float32)


def windowed_acf(odf: F32, window: int = ACF_WINDOW, hop: int = ACF_HOP) -> F64:
    """Mean of per-window autocorrelations (each normalised to lag 0), lags 0..window-1.

    Windows are processed in batches so memory stays flat for multi-hour files."""
    if len(odf) < window:
        odf = np.pad(odf, (0, window - len(odf)))
    starts = np.arange(0, len(odf) - window + 1, hop)
    views = np.lib.stride_tricks.sliding_window_view(odf, window)
    total, count = np.zeros(window), 0
    for batch in range(0, len(starts), _ACF_BATCH):
        segs = views[starts[batch:batch + _ACF_BATCH]].astype(np.float64)
        segs -= segs.mean(axis=1, keepdims=True)
        acf = np.fft.irfft(np.abs(np.fft.rfft(segs, 2 * window, axis=1)) ** 2, axis=1)[:, :window]
        valid = acf[:, 0] > 1e-12
        total += (acf[valid] / acf[valid, :1]).sum(axis=0)
        count += int(valid.sum())
    return total / count if count else total


def start_period(acf: F64) -> float:
    """Lag (frames) of the strongest metrically consistent periodicity in START_BAND_BPM."""
    lo, hi = START_BAND_BPM
    lags = np.arange(int(60 * ODF_RATE_HZ / hi), int(60 * ODF_RATE_HZ / lo) + 1)

    def score(p: float) -> float:
        duple = acf_at(acf, p / 2) + 0.5 * acf_at(acf, p / 4)
        triple = acf_at(acf, p / 3) + 0.5 * acf_at(acf, p / 6)
        return acf_at(acf, p) + 0.5 * max(duple, triple)

    best = int(lags[int(np.argmax([score(float(p)) for p in lags]))])
    y0, y1, y2 = acf[best - 1], acf[best], acf[best + 1]
    curvature = y0 - 2 * y1 + y2
    shift = 0.5 * (y0 - y2) / curvature if curvature < 0 else 0.0
    return best + float(np.clip(shift, -0.5, 0.5))


def track_beats(odf: F32, bpm: float) -> F64:
    """Beat times (s) from Essentia's Degara tracker, held within +-12 % of `bpm`.

    Long files are tracked in ~6-minute segments overlapping by 12 s and stitched at the
    overlap centres: Degara's memory grows with input length (~165 MB for a 2-hour
    envelope), segmenting keeps it flat. A fresh tracker per segment: no carried state."""
    lo = int(np.clip(np.floor(bpm / _DEGARA_SPAN), 40, 180))
    hi = int(np.clip(np.ceil(bpm * _DEGARA_SPAN), lo + 20, 250))
    beats: list[F64] = []
    step = _BEAT_SEGMENT - _BEAT_OVERLAP
    for start in range(0, max(1, len(odf) - _BEAT_OVERLAP), step):
        tracker = es.TempoTapDegara(minTempo=lo, maxTempo=hi, sampleRateODF=ODF_RATE_HZ)
        ticks = np.asarray(tracker(odf[start:start + _BEAT_SEGMENT]), dtype=np.float64)
        ticks += start / ODF_RATE_HZ
        keep_from = (start + _BEAT_OVERLAP / 2) / ODF_RATE_HZ if start else -np.inf
        end = start + _BEAT_SEGMENT
        keep_to = (end - _BEAT_OVERLAP / 2) / ODF_RATE_HZ if end < len(odf) else np.inf
        beats.append(ticks[(ticks >= keep_from) & (ticks < keep_to)])
    return np.concatenate(beats) if beats else np.zeros(0)


def refine_bpm(beats: F64, bpm: float) -> float:
    """Mean of the inter-beat intervals that agree (+-8 %) with the metrical estimate."""
    ibis = np.diff(beats)
    expected = 60.0 / bpm
    good = ibis[np.abs(ibis - expected) <= 0.08 * expected]
    if len(good) < 4:
        return bpm
    return float(60.0 / good.mean())


def agreement_bits(beat_sets: list[F64]) -> float:
    """Mean mutual agreement (information gain, bits) between beat sequences."""
    usable = [b.astype(np.float32) for b in beat_sets if len(b) >= 4]
    if len(usable) < 2:
        return 0.0
    _, bits = es.TempoTapMaxAgreement()(usable)
    return float(np.clip(bits, 0.0, MMA_MAX_BITS))


@dataclass(frozen=True)
class Periodicity:
    """What the octave decision reads, computed once per file (the tuning benchmark reuses
    it across parameter sets)."""

    acf: F64  # windowed autocorrelation of the full-band envelope
    acf_low: F64  # the same for the < 200 Hz envelope
    start: float  # start-level period, frames
    profile: F64  # beat-synchronous profile at the start period


def periodicity(odf: F32, low: F32) -> Periodicity:
    acf = windowed_acf(odf)
    start = start_period(acf)
    return Periodicity(acf, windowed_acf(low), start, beat_profile(odf, start))


def octave_bpm(evidence: Periodicity, params: TempoParams = DEFAULT_TEMPO_PARAMS) -> float:
    """Tactus tempo before beat tracking: metrical walk from the start level, then the
    prior's octave check."""
    walked = metrical_bpm(evidence.profile, 60.0 * ODF_RATE_HZ / evidence.start,
                          params.q_fast, params.max_bpm)
    combined = evidence.acf + params.octave.low_band_weight * evidence.acf_low
    return check_octave(combined, walked, params.octave)


def tracked_bpm(odf: F32, bpm: float, max_bpm: float = MAX_BPM) -> tuple[float, F64]:
    """Beats tracked around `bpm` and the BPM they support."""
    beats = track_beats(odf, bpm)
    return float(np.clip(refine_bpm(beats, bpm), MIN_BPM, max_bpm * _DEGARA_SPAN)), beats


def estimate_tempo(flux: F32, flux_low: F32, flux_high: F32,
                   params: TempoParams = DEFAULT_TEMPO_PARAMS) -> Tempo:
    """Tempo of a whole file from its onset envelopes (full band, < 200 Hz, > 2 kHz)."""
    odf = normalise(flux)
    if len(odf) < 4 * ODF_RATE_HZ or float(odf.max(initial=0.0)) <= 0.0:
        return Tempo(0.0, 0.0, 0)
    low, high = normalise(flux_low), normalise(flux_high)
    bpm, beats = tracked_bpm(odf, octave_bpm(periodicity(odf, low), params), params.max_bpm)
    others = [track_beats(f, bpm) for f in (low, high)]
    bits = agreement_bits([beats, *others])
    return Tempo(bpm, bits, len(beats), beat_grid(beats, bpm, low, odf))
