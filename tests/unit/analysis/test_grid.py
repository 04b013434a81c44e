"""Beat grid: phase, on-grid share and bars, on pure beat lists and on click tracks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from streams.analysis.decode import ANALYSIS_RATE
from streams.analysis.grid import beat_grid, first_beat, grid_phase, on_grid_share
from streams.analysis.onset import ODF_RATE_HZ, OnsetAccumulator
from streams.analysis.tempo import estimate_tempo


def test_phase_is_the_circular_mean_and_survives_a_wrap() -> None:
    period = 0.5
    beats = np.arange(40) * period + 0.49 + np.tile([-0.01, 0.01], 20)  # around 0.49 = -0.01
    assert grid_phase(beats, period) == pytest.approx(0.49, abs=1e-6)


def test_on_grid_share_counts_beats_within_30_ms() -> None:
    period = 0.5
    beats = np.concatenate([np.arange(10) * period, np.arange(10) * period + 0.2])
    assert on_grid_share(beats, 0.0, period) == pytest.approx(0.5)


def clicks(bpm: float, start: float, accent_every: int = 0, seconds: float = 30.0
           ) -> np.ndarray:
    """Decaying 880 Hz clicks from `start`; with `accent_every`, every n-th click (the first
    included) also carries a 60 Hz thump, like a kick on the downbeat."""
    t = np.arange(int(seconds * ANALYSIS_RATE)) / ANALYSIS_RATE
    period = 60.0 / bpm
    since = np.mod(t - start, period)
    index = np.floor((t - start) / period)
    out = 0.6 * np.sin(2 * np.pi * 880 * t) * np.exp(-40 * since)
    if accent_every:
        bar_start = np.mod(index, accent_every) == 0
        out += 0.8 * bar_start * np.sin(2 * np.pi * 60 * t) * np.exp(-12 * since)
    out *= t >= start
    rng = np.random.default_rng(1)
    return (out + rng.normal(0, 0.001, len(t))).astype(np.float32)


def grid_of(audio: np.ndarray):  # type: ignore[no-untyped-def]
    acc = OnsetAccumulator()
    acc.feed(audio)
    frames = acc.result()
    return estimate_tempo(frames.flux, frames.flux_low, frames.flux_high)


@pytest.mark.parametrize(("bpm", "start"), [(120.0, 0.0), (100.0, 0.2), (87.0, 0.05)])
def test_click_track_grid_lands_on_the_clicks(bpm: float, start: float) -> None:
    tempo = grid_of(clicks(bpm, start))
    assert tempo.grid is not None
    period = 60.0 / bpm
    error = (tempo.grid.first_beat_s - start + period / 2) % period - period / 2
    assert abs(error) < 0.012  # within a frame of the true click times
    assert tempo.grid.first_beat_s < period
    assert tempo.grid.grid_confidence >= 0.95


def test_accented_bars_give_the_downbeat_and_metre() -> None:
    bpm, start = 120.0, 0.25
    tempo = grid_of(clicks(bpm, start, accent_every=4))
    assert tempo.grid is not None and tempo.grid.beats_per_bar == 4
    bar = 4 * 60.0 / bpm
    error = (tempo.grid.downbeat_s - start + bar / 2) % bar - bar / 2  # type: ignore[operator]
    assert abs(error) < 0.02


def test_no_bars_without_accents_and_no_grid_without_beats() -> None:
    tempo = grid_of(clicks(120.0, 0.0))
    assert tempo.grid is not None and tempo.grid.downbeat_s is None
    silent = np.zeros(int(10 * ODF_RATE_HZ), np.float32)
    assert beat_grid(np.zeros(2), 120.0, silent, silent) is None


def test_clean_clicks_without_any_bass_give_no_bars_and_a_first_beat_at_zero() -> None:
    t = np.arange(int(20 * ANALYSIS_RATE)) / ANALYSIS_RATE
    clean = (0.6 * np.sin(2 * np.pi * 880 * t) * np.exp(-40 * np.mod(t, 0.5))).astype(np.float32)
    tempo = grid_of(clean)  # no noise: the < 200 Hz band is all but empty
    assert tempo.grid is not None
    assert tempo.grid.downbeat_s is None and tempo.grid.beats_per_bar is None
    assert tempo.grid.first_beat_s < 0.012  # the click at 0 s, not the one at 0.5 s


def test_a_phase_just_before_a_period_is_the_beat_at_zero() -> None:
    assert first_beat(0.497, 0.5) == 0.0
    assert first_beat(0.2, 0.5) == 0.2


def test_an_unaccented_click_file_has_no_bars(tmp_path: Path) -> None:
    # Through the real decoder: each click's attack leaks into the < 200 Hz band equally,
    # so no beat position stands out (read at the tracked frames, not 35 ms later).
    from infra.corpus.bad_files import click_track
    from streams.analysis.core import analyse_file

    features = analyse_file(click_track(tmp_path / "clicks.wav", 30.0, 22050))
    assert features.first_beat_s is not None and features.first_beat_s < 0.012
    assert features.downbeat_s is None and features.beats_per_bar is None
