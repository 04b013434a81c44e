"""analyse_file: decode once, stream the chunks through every feature, assemble a FileAnalysis."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from schemas.analysis_events import Features
from streams.analysis.classify import check_truncation, decode_failure, native_format
from streams.analysis.confidence import key_confidence, tempo_confidence
from streams.analysis.decode import ANALYSIS_RATE, Chunk, DecodedStream
from streams.analysis.errors import AnalysisError
from streams.analysis.key import KeyAccumulator
from streams.analysis.loudness import REPLAY_GAIN_REFERENCE_LUFS, LoudnessMeter
from streams.analysis.mood import (
    DanceabilityAccumulator,
    danceability_to_unit,
    estimate_mood,
    timbre,
)
from streams.analysis.notation import camelot, open_key
from streams.analysis.onset import OnsetAccumulator
from streams.analysis.probe import Probe, check_file, probe
from streams.analysis.tempo import estimate_tempo
from streams.analysis.version import ANALYZER_VERSION

MIN_DURATION_S = 5.0  # below this there are too few beats/chords for tempo or key


class FileAnalysis(Features, frozen=True):
    """The schema's Features as measured in one file, plus the file's path and `timings`
    (CPU seconds per stage). `fingerprint` is left None here: the pool job adds it
    (streams/pool/job.py). Fields are inherited, so the analyser cannot drift from the
    event schema."""

    path: str
    timings: dict[str, float] = {}

    def __eq__(self, other: object) -> bool:
        # Timings are left out, so that two analyses of the same file compare equal.
        if not isinstance(other, FileAnalysis):
            return NotImplemented
        return (self.path, self.measured()) == (other.path, other.measured())

    def measured(self) -> dict[str, Any]:
        """The schema's fields by name: what a pool child sends back (streams/pool/reply.py)."""
        return {name: getattr(self, name) for name in Features.__struct_fields__}

    def to_dict(self) -> dict[str, Any]:
        return msgspec.structs.asdict(self)


class _Pipeline:
    """Fresh accumulators (and so fresh Essentia state) for exactly one file."""

    def __init__(self, channels: int) -> None:
        self.channels = channels
        self.loudness = LoudnessMeter(ANALYSIS_RATE, channels)
        self.onsets = OnsetAccumulator()
        self.key = KeyAccumulator()
        self.dance = DanceabilityAccumulator()
        self.cpu: dict[str, float] = {}

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        # thread CPU time: unaffected by other engineers' load or by other threads
        start = time.thread_time()
        try:
            yield
        finally:
            self.cpu[stage] = self.cpu.get(stage, 0.0) + time.thread_time() - start

    def feed(self, chunk: Chunk) -> None:
        with self.timed("decode"):
            planar = np.ascontiguousarray(chunk.T)  # one de-interleave for every consumer
            mono = planar[0] if len(planar) == 1 else (planar[0] + planar[1]) * np.float32(0.5)
        with self.timed("loudness"):
            self.loudness.feed(planar)
        with self.timed("tempo"):
            self.onsets.feed(mono)
        with self.timed("key"):
            self.key.feed(mono)
        with self.timed("danceability"):
            self.dance.feed(mono)


def _decode(path: Path, channels: int, pipeline: _Pipeline) -> DecodedStream:
    stream = DecodedStream(path, channels)
    chunks = iter(stream)
    while True:
        with pipeline.timed("decode"):
            chunk = next(chunks, None)
        if chunk is None:
            break
        pipeline.feed(chunk)
    return stream


def _format_facts(meta: Probe | None, stderr: str, decoded_channels: int) -> tuple[
        str, int, int, int | None]:
    native = native_format(stderr)
    codec = (meta.codec if meta else None) or native.codec or "unknown"
    rate = (meta.sample_rate if meta else None) or native.sample_rate or ANALYSIS_RATE
    channels = (meta.channels if meta else None) or native.channels or decoded_channels
    bit_rate = (meta.bit_rate if meta else None) or native.bit_rate
    return codec, rate, channels, bit_rate


def analyse_file(path: str | Path) -> FileAnalysis:
    """Analyse one audio file; raises AnalysisError with a precise reason on failure."""
    path = Path(path)
    started = time.thread_time()
    check_file(path)
    meta = probe(path)
    decode_channels = 1 if meta is not None and meta.channels == 1 else 2
    pipeline = _Pipeline(decode_channels)
    try:
        stream = _decode(path, decode_channels, pipeline)
    except OSError as exc:
        raise AnalysisError("io_error", f"reading decoded audio failed: {exc}", True) from exc
    stats = stream.stats
    if stats.frames == 0:
        raise decode_failure(stats, meta)
    duration = stats.frames / ANALYSIS_RATE
    check_truncation(duration, meta)
    if duration < MIN_DURATION_S:
        raise AnalysisError("too_short", f"{duration:.1f} s of audio, need {MIN_DURATION_S:.0f} s")
    features = _features(path, meta, stats.stderr, duration, stats.peak_dbfs, pipeline)
    pipeline.cpu["decode"] = pipeline.cpu.get("decode", 0.0) + stats.cpu_s
    pipeline.cpu["total"] = time.thread_time() - started + stats.cpu_s
    return msgspec.structs.replace(
        features, timings={k: round(v, 4) for k, v in pipeline.cpu.items()})


def _features(path: Path, meta: Probe | None, stderr: str, duration: float,
              native_peak: float | None, pipeline: _Pipeline) -> FileAnalysis:
    with pipeline.timed("loudness"):
        loud = pipeline.loudness.result(native_peak)
    if loud.integrated_lufs is None:
        raise AnalysisError("silent", "no audible signal (everything below -70 LUFS)")
    with pipeline.timed("tempo"):
        frames = pipeline.onsets.result()
        tempo = estimate_tempo(frames.flux, frames.flux_low, frames.flux_high)
    with pipeline.timed("key"):
        key = pipeline.key.result()
    if key is None:
        raise AnalysisError("too_short", "no tonal content found")
    with pipeline.timed("danceability"):
        dance = danceability_to_unit(pipeline.dance.result())
    with pipeline.timed("mood"):
        mood = estimate_mood(loud.integrated_lufs, tempo.bpm, key.scale == "major",
                             key.strength, dance, timbre(frames))
    codec, rate, channels, bit_rate = _format_facts(meta, stderr, pipeline.channels)
    peak = loud.peak_dbfs if math.isfinite(loud.peak_dbfs) else -120.0
    return FileAnalysis(
        path=str(path), duration_s=round(duration, 3), sample_rate=rate, channels=channels,
        codec=codec, bit_rate=bit_rate, bpm=round(tempo.bpm, 2),
        bpm_confidence=round(tempo_confidence(tempo.bpm, tempo.mma_bits), 3),
        beats_count=tempo.beats_count,
        first_beat_s=tempo.grid.first_beat_s if tempo.grid else None,
        grid_confidence=tempo.grid.grid_confidence if tempo.grid else 0.0,
        downbeat_s=tempo.grid.downbeat_s if tempo.grid else None,
        beats_per_bar=tempo.grid.beats_per_bar if tempo.grid else None,
        key=key.key, scale=key.scale, key_strength=round(key_confidence(key.strength), 3),
        tuning_cents=round(key.tuning_cents, 1),
        camelot=camelot(key.key, key.scale), open_key=open_key(key.key, key.scale),
        loudness_lufs=round(loud.integrated_lufs, 2), loudness_range_lu=round(loud.range_lu, 2),
        peak_dbfs=round(peak, 2),
        replay_gain_db=round(REPLAY_GAIN_REFERENCE_LUFS - loud.integrated_lufs, 2),
        danceability=round(dance, 3), energy=mood.energy, arousal=mood.arousal,
        valence=mood.valence, mood=mood.label, analyzer_version=ANALYZER_VERSION,
        fingerprint=None,
    )

