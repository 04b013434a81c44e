"""Deterministic example events, one per type: used to write golden files and in unit tests."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.analysis_events import Features
from schemas.envelope import Event, file_id_for
from schemas.file_events import FileInfo, Tags
from tests.builders import (
    Envelope,
    completed,
    deleted,
    discovered,
    failed,
    modified,
    moved,
    requested,
    started,
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


def _env(n: int) -> Envelope:
    return {"event_id": f"evt-{n}", "occurred_at": AT, "file_id": FID,
            "correlation_id": "corr-1", "causation_id": None if n == 1 else "evt-1",
            "priority": "normal"}


def all_samples() -> list[Event]:
    return [
        discovered(INFO, **_env(1)),
        modified(INFO, previous_hash="ab" * 16, **_env(2)),
        moved(INFO, previous_rel="old.mp3", **_env(3)),
        deleted(INFO, **_env(4)),
        requested(INFO, reason="reanalyse", force=True, **_env(5)),
        started(INFO, worker="host-1:123", **_env(8)),
        completed(INFO, FEATURES, analysis_id="an-1", processing_ms=612.0, worker="host-1:123",
                  **_env(6)),
        failed(INFO, reason="corrupt", message="decoder error", attempts=1, **_env(7)),
    ]
