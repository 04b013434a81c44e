"""Deterministic example events, one per type: used to write golden files and in unit tests."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.analysis_events import (
    AnalysisCompleted,
    AnalysisCompletedPayload,
    AnalysisFailed,
    AnalysisFailedPayload,
    AnalysisStarted,
    AnalysisStartedPayload,
    Features,
)
from schemas.envelope import Event, file_id_for
from schemas.file_events import (
    AnalysisRequested,
    AnalysisRequestedPayload,
    FileDeleted,
    FileDeletedPayload,
    FileDiscovered,
    FileDiscoveredPayload,
    FileInfo,
    FileModified,
    FileModifiedPayload,
    FileMoved,
    FileMovedPayload,
    Tags,
)

AT = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)
ROOT = "/music"
FID = file_id_for(ROOT, "house/track.mp3")
INFO = FileInfo(path="/music/house/track.mp3", library_root=ROOT, relative_path="house/track.mp3",
                size=4_200_000, mtime=1_700_000_000.5, content_hash="0f" * 16, format="mp3",
                tags=Tags(artist="Artist", title="Title", album="Album", genre="House",
                          year=2024, track_number=3))
FEATURES = Features(duration_s=241.5, sample_rate=44100, channels=2, codec="mp3",
                    bit_rate=320000, bpm=124.0, bpm_confidence=0.82, beats_count=498,
                    first_beat_s=0.412, grid_confidence=0.93, downbeat_s=1.38,
                    beats_per_bar=4, key="A", scale="minor", key_strength=0.74,
                    tuning_cents=-12.5, camelot="8A",
                    open_key="1m",
                    loudness_lufs=-8.9, loudness_range_lu=5.1, peak_dbfs=-0.3,
                    replay_gain_db=-9.1, danceability=0.71, energy=0.8, arousal=0.7,
                    valence=0.4, mood="tense", analyzer_version=1,
                    fingerprint="AQAAAP////8QMlRWeJq83g==")


def _env(n: int) -> dict[str, object]:
    return {"event_id": f"evt-{n}", "occurred_at": AT, "file_id": FID,
            "correlation_id": "corr-1", "causation_id": None if n == 1 else "evt-1",
            "priority": "normal"}


def all_samples() -> list[Event]:
    return [
        FileDiscovered.create(**_env(1), payload=FileDiscoveredPayload(file=INFO)),
        FileModified.create(**_env(2), payload=FileModifiedPayload(file=INFO,
                                                                    previous_hash="ab" * 16)),
        FileMoved.create(**_env(3), payload=FileMovedPayload(
            file=INFO, previous_file_id=file_id_for(ROOT, "old.mp3"),
            previous_path="/music/old.mp3")),
        FileDeleted.create(**_env(4), payload=FileDeletedPayload(
            path=INFO.path, library_root=ROOT, relative_path=INFO.relative_path)),
        AnalysisRequested.create(**_env(5), payload=AnalysisRequestedPayload(
            file=INFO, reason="reanalyse", force=True)),
        AnalysisStarted.create(**_env(8), payload=AnalysisStartedPayload(
            path=INFO.path, content_hash=INFO.content_hash, worker="host-1:123")),
        AnalysisCompleted.create(**_env(6), payload=AnalysisCompletedPayload(
            analysis_id="an-1", path=INFO.path, content_hash=INFO.content_hash,
            features=FEATURES, processing_ms=612.0, worker="host-1:123")),
        AnalysisFailed.create(**_env(7), payload=AnalysisFailedPayload(
            path=INFO.path, content_hash=INFO.content_hash, reason="corrupt",
            message="decoder error", attempts=1)),
    ]
