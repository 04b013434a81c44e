"""EBU R128 meter: filter design, calibration, gating, range, streaming invariance."""

from __future__ import annotations

import math

import numpy as np
import pytest

from streams.analysis.loudness import LoudnessMeter, integrated, k_weighting, loudness_range

RATE = 22050


def tone(amplitude: float, seconds: float, freq: float = 997.0, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def measure(planar: np.ndarray, chunk: int = 50_000) -> tuple[float | None, float]:
    meter = LoudnessMeter(RATE, planar.shape[0])
    for start in range(0, planar.shape[1], chunk):
        meter.feed(np.ascontiguousarray(planar[:, start:start + chunk]))
    result = meter.result()
    return result.integrated_lufs, result.range_lu


def test_k_weighting_matches_bs1770_at_48k() -> None:
    b, a = k_weighting(48000)
    # BS.1770-4 tabulates the two stages; compare the cascaded polynomials.
    shelf_b = [1.53512485958697, -2.69169618940638, 1.19839281085285]
    shelf_a = [1.0, -1.69065929318241, 0.73248077421585]
    hp_b, hp_a = [1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621]
    np.testing.assert_allclose(b, np.convolve(shelf_b, hp_b), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a, np.convolve(shelf_a, hp_a), rtol=1e-5, atol=1e-6)


def test_stereo_sine_calibration() -> None:
    # A 997 Hz sine at amplitude A in both channels reads 20*log10(A) LUFS (+-0.1).
    x = tone(0.1, 20.0)
    lufs, lra = measure(np.stack([x, x]))
    assert lufs == pytest.approx(-20.0, abs=0.1)
    assert lra == pytest.approx(0.0, abs=0.1)


def test_mono_reads_3db_below_dual_mono() -> None:
    x = tone(0.1, 10.0)
    mono, _ = measure(x[None, :])
    dual, _ = measure(np.stack([x, x]))
    assert mono is not None and dual is not None
    assert dual - mono == pytest.approx(10 * math.log10(2), abs=0.02)


def test_silence_is_gated_out() -> None:
    x = np.concatenate([tone(0.1, 10.0), np.zeros(RATE * 30, dtype=np.float32)])
    lufs, _ = measure(np.stack([x, x]))
    assert lufs == pytest.approx(-20.0, abs=0.15)
    assert measure(np.zeros((2, RATE * 5), dtype=np.float32))[0] is None


def test_loudness_range_of_two_levels() -> None:
    x = np.concatenate([tone(0.1, 30.0), tone(0.01, 30.0)])  # -20 and -40 LUFS halves
    lufs, lra = measure(np.stack([x, x]))
    # the quiet half is > 10 LU down: relative gate removes it from the integrated value
    assert lufs == pytest.approx(-20.0, abs=0.2)
    # LRA's relative gate is 20 LU under the power mean (~-23 LUFS): both halves count
    assert lra == pytest.approx(20.0, abs=1.0)
    y = np.concatenate([tone(0.1, 30.0), tone(0.0316, 30.0)])  # -20 and -30 LUFS
    assert measure(np.stack([y, y]))[1] == pytest.approx(10.0, abs=1.0)


def test_result_does_not_depend_on_chunking() -> None:
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((2, RATE * 12)) * 0.05).astype(np.float32)
    assert measure(x, 7_777)[0] == pytest.approx(measure(x, 1 << 19)[0], abs=1e-4)


def test_gating_helpers_on_empty_input() -> None:
    empty = np.zeros(0)
    assert integrated(empty) is None
    assert loudness_range(empty) == 0.0
