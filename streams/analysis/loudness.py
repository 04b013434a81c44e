"""EBU R128 / ITU-R BS.1770-4 loudness, streamed: integrated LUFS, loudness range, peak."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from streams.analysis.ess import reusable

ABSOLUTE_GATE_LUFS = -70.0
REPLAY_GAIN_REFERENCE_LUFS = -18.0  # ReplayGain 2.0 reference level
_SUB_BLOCK_S = 0.1  # 400 ms gating blocks with 75 % overlap = 4 sub-blocks, hop 1
_SHORT_TERM_SUB_BLOCKS = 30  # 3 s short-term windows at 10 Hz for LRA (EBU Tech 3342)


def k_weighting(rate: float) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """BS.1770 K-weighting (shelf + RLB high-pass) for any rate, as one 4th-order IIR.

    The analogue prototypes are those libebur128 uses; at 48 kHz they reproduce the
    coefficients tabulated in BS.1770. Cascading into one filter halves the passes;
    float32 error stays < 0.005 LU (checked against a float64 cascade)."""
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10 ** (gain_db / 20)
    vb = vh ** 0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf_b = [(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0,
               (vh - vb * k / q + k * k) / a0]
    shelf_a = [1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1 + k / q + k * k
    hp_b = [1.0, -2.0, 1.0]
    hp_a = [1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    b = np.convolve(shelf_b, hp_b).astype(np.float32)
    a = np.convolve(shelf_a, hp_a).astype(np.float32)
    return b, a


def _lufs(power: npt.NDArray[np.float64] | float) -> npt.NDArray[np.float64]:
    return np.asarray(-0.691 + 10 * np.log10(np.maximum(power, 1e-20)))


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float | None  # None: nothing above the absolute gate (silence)
    range_lu: float
    peak_dbfs: float


class LoudnessMeter:
    """Feed (frames, channels) chunks in order; per-channel IIR state carries across chunks,
    so create one meter per file: it takes the process's filters reset (`ess.reusable`)."""

    def __init__(self, rate: int, channels: int) -> None:
        b, a = k_weighting(rate)
        self._filters = [reusable("IIR", slot=ch, numerator=b, denominator=a)
                         for ch in range(channels)]  # reset: no state from the last file
        self._sub_block = round(rate * _SUB_BLOCK_S)
        self._carry = np.zeros(0, dtype=np.float32)
        self._powers: list[npt.NDArray[np.float64]] = []
        self._peak = 0.0

    def feed(self, planar: npt.NDArray[np.float32]) -> None:
        """`planar`: (channels, frames) contiguous float32 (Essentia's IIR needs 1-D runs)."""
        power = np.zeros(planar.shape[1], dtype=np.float32)
        for samples, filt in zip(planar, self._filters, strict=True):  # channel weight G = 1
            y = filt(samples)
            power += y * y
        self._peak = max(self._peak, float(np.max(np.abs(planar), initial=0.0)))
        power = np.concatenate([self._carry, power])
        whole = len(power) // self._sub_block * self._sub_block
        if whole:
            blocks = power[:whole].reshape(-1, self._sub_block)
            self._powers.append(blocks.sum(axis=1, dtype=np.float64) / self._sub_block)
        self._carry = power[whole:]

    def result(self, native_peak_dbfs: float | None = None) -> Loudness:
        subs = np.concatenate(self._powers) if self._powers else np.zeros(0)
        peak = native_peak_dbfs
        if peak is None:
            peak = 20 * math.log10(self._peak) if self._peak > 0 else -math.inf
        return Loudness(integrated(subs), loudness_range(subs), peak)


def _windows(subs: npt.NDArray[np.float64], width: int) -> npt.NDArray[np.float64]:
    """Mean power of every `width`-sub-block window, hop one sub-block."""
    if len(subs) < width:
        return subs[:0] if len(subs) == 0 else np.array([subs.mean()])
    csum = np.concatenate([[0.0], np.cumsum(subs)])
    return np.asarray((csum[width:] - csum[:-width]) / width)


def integrated(subs: npt.NDArray[np.float64]) -> float | None:
    """Gated integrated loudness (absolute -70 LUFS, then relative -10 LU)."""
    blocks = _windows(subs, 4)
    blocks = blocks[_lufs(blocks) > ABSOLUTE_GATE_LUFS]
    if len(blocks) == 0:
        return None
    relative = float(_lufs(blocks.mean())) - 10.0
    kept = blocks[_lufs(blocks) > relative]
    return float(_lufs(kept.mean()))


def loudness_range(subs: npt.NDArray[np.float64]) -> float:
    """LRA: 10th-95th percentile spread of gated 3 s short-term loudness (EBU Tech 3342)."""
    short = _windows(subs, _SHORT_TERM_SUB_BLOCKS)
    short = short[_lufs(short) > ABSOLUTE_GATE_LUFS]
    if len(short) < 2:
        return 0.0
    relative = float(_lufs(short.mean())) - 20.0
    levels = _lufs(short)
    levels = levels[levels > relative]
    if len(levels) < 2:
        return 0.0
    low, high = np.percentile(levels, [10, 95])
    return float(high - low)
