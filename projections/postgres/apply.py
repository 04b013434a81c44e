"""Pure projector of the Postgres read model: positioned events -> merged rows to upsert.

One event becomes register patches of track rows (see rows.py) plus, for analyses, failures
and moves, whole rows versioned by event. Patches of the same key within a batch are merged
here, so each key appears once per statement (ON CONFLICT cannot touch a row twice).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from projections.base import Positioned, stamp
from projections.postgres.fingerprints import raw_of_text, signature_of_text
from projections.postgres.rows import Row, empty_track, merge_track, merge_versioned, version_key
from schemas.analysis_events import AnalysisCompleted, AnalysisFailed, AnalysisStarted, Features
from schemas.codec import AnyEvent
from schemas.file_events import (
    AnalysisRequested,
    FileDeleted,
    FileDiscovered,
    FileInfo,
    FileModified,
    FileMoved,
)
from schemas.status import TrackStatus

# Columns of `analyses` filled from Features as they are: every field but the fingerprint,
# which is stored as raw bytes (fingerprints.raw_of_text).
FEATURE_FIELDS: tuple[str, ...] = tuple(
    name for name in Features.__struct_fields__ if name != "fingerprint")


@dataclass
class PostgresIntents:
    """Rows to upsert, one per key, sorted by key (a stable lock order between writers)."""

    tracks: list[Row] = field(default_factory=list)
    analyses: list[Row] = field(default_factory=list)
    failures: list[Row] = field(default_factory=list)
    moves: list[Row] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.tracks) + len(self.analyses) + len(self.failures) + len(self.moves)


class _Merged:
    """Rows keyed by primary key, merged as they are added."""

    def __init__(self, merge: Callable[[Row, Row], Row]) -> None:
        self._rows: dict[object, Row] = {}
        self._merge = merge

    def add(self, key: object, row: Row) -> None:
        old = self._rows.get(key)
        self._rows[key] = row if old is None else self._merge(old, row)

    def sorted_rows(self) -> list[Row]:
        return [self._rows[k] for k in sorted(self._rows)]  # type: ignore[type-var]


class PostgresProjector:
    """Projector[PostgresIntents] for the `tracks`, `analyses`, `failures` tables."""

    def __init__(self, name: str = "postgres") -> None:
        self.name = name

    def apply(self, batch: Sequence[Positioned]) -> PostgresIntents:
        tracks, analyses = _Merged(merge_track), _Merged(merge_versioned)
        failures, moves = _Merged(merge_versioned), _Merged(merge_versioned)
        for positioned in batch:
            event = positioned.event
            for row in _track_patches(event):
                tracks.add(row["file_id"], row)
            if isinstance(event, AnalysisCompleted):
                analyses.add(event.payload.analysis_id, _analysis_row(event))
            elif isinstance(event, AnalysisFailed):
                failures.add(event.file_id, _failure_row(event))
            elif isinstance(event, FileMoved):
                move = _move_row(event)
                moves.add((move["from_id"], move["to_id"]), move)
        return PostgresIntents(tracks.sorted_rows(), analyses.sorted_rows(),
                               failures.sorted_rows(), moves.sorted_rows())


def _patch(event: AnyEvent, path: str, file_id: str | None = None) -> Row:
    """A row with only the 'last event' register set."""
    row = empty_track(file_id or event.file_id, event.occurred_at)
    row.update(path=path, last_event_at=event.occurred_at, last_event_id=event.event_id,
               updated_at=event.occurred_at,
               last_version=version_key(stamp(event)))
    return row


def _with_info(row: Row, info: FileInfo, version: str) -> Row:
    tags = info.tags
    row.update(library_root=info.library_root, relative_path=info.relative_path,
               size=info.size, content_hash=info.content_hash, format=info.format,
               artist=tags.artist, title=tags.title, album=tags.album, genre=tags.genre,
               year=tags.year, track_number=tags.track_number, info_version=version)
    return row


def _with(row: Row, version: str, **registers: object) -> Row:
    """Set registers sharing one version, e.g. _with(row, v, present=True)."""
    for col, value in registers.items():
        row[col] = value
        row[_VERSION_OF[col]] = version
    return row


_VERSION_OF = {"present": "presence_version", "progress": "progress_version"}


def _track_patches(event: AnyEvent) -> list[Row]:
    """Status mapping: discovered/modified/requested -> queued, started -> analysing,
    completed -> analysed, failed -> failed, deleted -> deleted (via presence); a move deletes
    the old id and creates the new one, which inherits progress and analysis in the writer.
    """
    v = version_key(stamp(event))
    if isinstance(event, FileDiscovered | FileModified | AnalysisRequested):
        info = event.payload.file
        return [_with(_with_info(_patch(event, info.path), info, v), v,
                      present=True, progress=TrackStatus.QUEUED)]
    if isinstance(event, FileMoved):
        info = event.payload.file
        new = _with(_with_info(_patch(event, info.path), info, v), v, present=True)
        old = _with(_patch(event, event.payload.previous_path, event.payload.previous_file_id),
                    v, present=False)
        return [new, old]
    if isinstance(event, FileDeleted):
        return [_with(_patch(event, event.payload.path), v, present=False)]
    if isinstance(event, AnalysisStarted):
        return [_with(_patch(event, event.payload.path), v, progress=TrackStatus.ANALYSING)]
    if isinstance(event, AnalysisFailed):
        return [_with(_patch(event, event.payload.path), v, progress=TrackStatus.FAILED)]
    if isinstance(event, AnalysisCompleted):
        return [_analysed_patch(event, v)]
    raise TypeError(f"unhandled event type {event.event_type}")  # pragma: no cover


def _analysed_patch(event: AnalysisCompleted, v: str) -> Row:
    f = event.payload.features
    row = _with(_patch(event, event.payload.path), v, progress=TrackStatus.ANALYSED)
    row.update(current_analysis_id=event.payload.analysis_id, bpm=f.bpm, key=f.key,
               scale=f.scale, camelot=f.camelot, energy=f.energy,
               danceability=f.danceability, loudness_lufs=f.loudness_lufs,
               bpm_confidence=f.bpm_confidence, key_strength=f.key_strength,
               tuning_cents=f.tuning_cents, first_beat_s=f.first_beat_s,
               grid_confidence=f.grid_confidence, downbeat_s=f.downbeat_s,
               beats_per_bar=f.beats_per_bar,
               analysis_version=v)
    signature = signature_of_text(f.fingerprint)
    row["fingerprint_signature"], row["fingerprint_mask"] = signature or (None, None)
    return row


def _analysis_row(event: AnalysisCompleted) -> Row:
    p = event.payload
    row: Row = {name: getattr(p.features, name) for name in FEATURE_FIELDS}
    row.update(analysis_id=p.analysis_id, file_id=event.file_id, event_id=event.event_id,
               occurred_at=event.occurred_at, path=p.path, content_hash=p.content_hash,
               processing_ms=p.processing_ms, cached=p.cached, worker=p.worker,
               fingerprint=raw_of_text(p.features.fingerprint),
               version=version_key(stamp(event)))
    return row


def _failure_row(event: AnalysisFailed) -> Row:
    p = event.payload
    return {"file_id": event.file_id, "path": p.path, "content_hash": p.content_hash,
            "reason": p.reason, "message": p.message, "attempts": p.attempts,
            "transient": p.transient, "last_error_at": event.occurred_at,
            "event_id": event.event_id,
            "version": version_key(stamp(event))}


def _move_row(event: FileMoved) -> Row:
    return {"from_id": event.payload.previous_file_id, "to_id": event.file_id,
            "moved_at": event.occurred_at, "event_id": event.event_id,
            "version": version_key(stamp(event))}
