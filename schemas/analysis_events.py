"""Analysis events: the musical facts computed for a file, or why they could not be."""

from __future__ import annotations

from typing import ClassVar, Literal

import msgspec

from schemas.envelope import Event


class Features(msgspec.Struct, frozen=True):
    """Everything the analyser measures; ranges and derivations are in docs/analysis.md.

    `tuning_cents` (AnalysisCompleted v2): the recording's tuning relative to A = 440 Hz,
    -50..+50 cents; None on results upcast from v1, which did not measure it.

    The beat grid (v3): `first_beat_s`, the first beat at or after 0 s of a constant grid at
    `bpm` phase-aligned to the tracked beats (None when no grid was found);
    `grid_confidence`, the share of tracked beats within 30 ms of that grid (0..1; 0 when no
    grid was found); `downbeat_s` and `beats_per_bar` where bars are audible, else None.
    On results upcast from v1/v2 all four are None: those analysers did not look for a grid,
    and a confidence of 0 would claim they had looked and found none.

    `fingerprint` (v4): the raw Chromaprint fingerprint of the first 120 s, base64 of the
    little-endian uint32 sub-fingerprints (streams/pool/fingerprint.py); None when it could
    not be computed, and on results upcast from v1-v3.
    """

    duration_s: float
    sample_rate: int
    channels: int
    codec: str
    bit_rate: int | None
    bpm: float
    bpm_confidence: float
    beats_count: int
    first_beat_s: float | None
    grid_confidence: float | None
    downbeat_s: float | None
    beats_per_bar: int | None
    key: str
    scale: Literal["major", "minor"]
    key_strength: float
    tuning_cents: float | None
    camelot: str
    open_key: str
    loudness_lufs: float
    loudness_range_lu: float
    peak_dbfs: float
    replay_gain_db: float
    danceability: float
    energy: float
    arousal: float
    valence: float
    mood: str
    analyzer_version: int
    fingerprint: str | None


class AnalysisCompletedPayload(msgspec.Struct, frozen=True):
    """`analysis_id` identifies this result in the history; `cached` marks a content-hash hit."""

    analysis_id: str
    path: str
    content_hash: str
    features: Features
    processing_ms: float
    cached: bool = False
    worker: str = ""


FailureReason = Literal[
    "not_found", "empty", "not_audio", "corrupt", "unsupported", "too_short", "silent",
    "io_error", "timeout", "memory", "internal",
]


class AnalysisFailedPayload(msgspec.Struct, frozen=True):
    path: str
    content_hash: str
    reason: FailureReason
    message: str
    attempts: int
    transient: bool = False


class AnalysisStartedPayload(msgspec.Struct, frozen=True):
    """An agent took the file; lets progress show "in progress" and the read model "analysing"."""

    path: str
    content_hash: str
    worker: str
    attempt: int = 1


class AnalysisStarted(Event, frozen=True, kw_only=True, tag="AnalysisStarted"):
    payload: AnalysisStartedPayload


class AnalysisCompleted(Event, frozen=True, kw_only=True, tag="AnalysisCompleted"):
    """v2 added `payload.features.tuning_cents`; v3 the beat grid (`first_beat_s`,
    `grid_confidence`, `downbeat_s`, `beats_per_bar`); v4 `fingerprint`. Upcasters:
    schemas/upcasters.py."""

    SCHEMA_VERSION: ClassVar[int] = 4

    payload: AnalysisCompletedPayload


class AnalysisFailed(Event, frozen=True, kw_only=True, tag="AnalysisFailed"):
    """v2 added the reason `silent` (digital silence, reported as `too_short` before): a
    v1 reader would reject it, hence the new version; v1 events are unchanged by upcasting."""

    SCHEMA_VERSION: ClassVar[int] = 2
    payload: AnalysisFailedPayload


AnalysisEvent = AnalysisStarted | AnalysisCompleted | AnalysisFailed
