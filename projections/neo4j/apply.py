"""Pure Neo4j projector: positioned events become per-kind row batches for `UNWIND ... MERGE`.

A track's state has three independent aspects, each last-writer-wins on its own stamp
(projections/base.py, stored as `stamp_text`): the file (path, tags, deleted), the analysis
status (queued, analysing, analysed, failed: the same vocabulary as the PostgreSQL read
model), and the features. Keeping them apart means an old AnalysisCompleted read after a newer
FileDiscovered (they live on different topics) still lands, while a replayed or duplicated
event never overwrites a newer one. Within a batch only each aspect's winner is emitted;
the writer repeats the same comparison against what is stored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from projections.base import Positioned, Stamp, stamp
from projections.neo4j.camelot import normalise_camelot
from schemas.analysis_events import AnalysisCompleted, AnalysisFailed, AnalysisStarted, Features
from schemas.envelope import Event
from schemas.file_events import (
    AnalysisRequested,
    FileDeleted,
    FileDiscovered,
    FileInfo,
    FileModified,
    FileMoved,
)
from schemas.status import TrackStatus

TEMPO_BUCKET_BPM = 5
PROJECTION_NAME = "neo4j"


class FileRow(TypedDict):
    """The file aspect of one track: upsert (`deleted` false) or tombstone (`deleted` true)."""

    file_id: str
    stamp: str
    at: datetime
    event_id: str
    props: dict[str, Any]


class AnalysisRow(TypedDict):
    """The analysis aspect, plus the newest features in the batch (own stamp) if any."""

    file_id: str
    stamp: str
    at: datetime
    event_id: str
    state: str
    path: str
    # A not_found failure: the path is gone (moved or deleted), which says nothing of the
    # file, so it does not travel along MOVED_TO to the id the file moved to.
    path_gone: bool
    features: dict[str, Any] | None


class MoveRow(TypedDict):
    src: str
    dst: str


@dataclass(frozen=True)
class GraphIntents:
    files: tuple[FileRow, ...] = ()
    analyses: tuple[AnalysisRow, ...] = ()
    moves: tuple[MoveRow, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.files or self.analyses or self.moves)


def stamp_text(s: Stamp) -> str:
    """The stamp as text sorting as it does: fixed-width UTC ISO time, then the event id."""
    return f"{s.at.isoformat(timespec='microseconds')}|{s.event_id}"


def tempo_bucket(bpm: float | None) -> int | None:
    if bpm is None:
        return None
    return int(bpm // TEMPO_BUCKET_BPM) * TEMPO_BUCKET_BPM


def _file_props(info: FileInfo, stamp: str) -> dict[str, Any]:
    tags = info.tags
    return {"path": info.path, "title": tags.title, "artist": tags.artist, "album": tags.album,
            "genre": tags.genre, "deleted": False, "file_stamp": stamp}


def _tombstone_props(path: str, stamp: str) -> dict[str, Any]:
    # Tags are cleared so the edge sync removes BY/ON/IN_GENRE; the node stays as a
    # tombstone so an older event read later cannot resurrect the track.
    return {"path": path, "title": None, "artist": None, "album": None, "genre": None,
            "deleted": True, "file_stamp": stamp}


def feature_props(features: Features, stamp: str) -> dict[str, Any]:
    bpm = features.bpm if math.isfinite(features.bpm) and features.bpm > 0 else None
    return {"bpm": bpm, "key": features.key, "scale": features.scale,
            "camelot": normalise_camelot(features.camelot, features.key, features.scale),
            "energy": features.energy, "danceability": features.danceability,
            "bpm_confidence": features.bpm_confidence, "key_strength": features.key_strength,
            "tuning_cents": features.tuning_cents,
            "first_beat_s": features.first_beat_s, "grid_confidence": features.grid_confidence,
            "downbeat_s": features.downbeat_s, "beats_per_bar": features.beats_per_bar,
            "analyzer_version": features.analyzer_version, "tempo_bucket": tempo_bucket(bpm),
            "features_stamp": stamp}


def _file_row(event: Event, file_id: str, props: dict[str, Any]) -> FileRow:
    return {"file_id": file_id, "stamp": props["file_stamp"], "at": event.occurred_at,
            "event_id": event.event_id, "props": props}


def _file_rows(event: Event) -> list[FileRow]:
    """File-aspect rows of one event: a move touches two tracks, the old one as a tombstone."""
    text = stamp_text(stamp(event))
    if isinstance(event, FileDiscovered | FileModified | AnalysisRequested):
        return [_file_row(event, event.file_id, _file_props(event.payload.file, text))]
    if isinstance(event, FileMoved):
        p = event.payload
        return [_file_row(event, event.file_id, _file_props(p.file, text)),
                _file_row(event, p.previous_file_id, _tombstone_props(p.previous_path, text))]
    if isinstance(event, FileDeleted):
        return [_file_row(event, event.file_id, _tombstone_props(event.payload.path, text))]
    return []


# A (re)discovered, changed or re-requested file is waiting for analysis again.
_QUEUED = FileDiscovered | FileModified | AnalysisRequested
_ANALYSIS = AnalysisStarted | AnalysisCompleted | AnalysisFailed
_ANALYSIS_STATE = {AnalysisStarted: TrackStatus.ANALYSING,
                   AnalysisCompleted: TrackStatus.ANALYSED, AnalysisFailed: TrackStatus.FAILED}


def _analysis_row(event: _QUEUED | _ANALYSIS) -> AnalysisRow:
    if isinstance(event, _QUEUED):
        state, path = TrackStatus.QUEUED, event.payload.file.path
    else:
        state, path = _ANALYSIS_STATE[type(event)], event.payload.path
    path_gone = isinstance(event, AnalysisFailed) and event.payload.reason == "not_found"
    return {"file_id": event.file_id, "stamp": stamp_text(stamp(event)),
            "at": event.occurred_at, "event_id": event.event_id, "state": state, "path": path,
            "path_gone": path_gone, "features": None}


class _Reducer:
    """Keeps each aspect's newest row per file within one batch."""

    def __init__(self) -> None:
        self.files: dict[str, FileRow] = {}
        self.analyses: dict[str, AnalysisRow] = {}
        self.features: dict[str, dict[str, Any]] = {}
        self.moves: set[tuple[str, str]] = set()

    def add(self, event: Event) -> None:
        for row in _file_rows(event):
            old = self.files.get(row["file_id"])
            if old is None or row["stamp"] > old["stamp"]:
                self.files[row["file_id"]] = row
        if isinstance(event, FileMoved):
            self.moves.add((event.payload.previous_file_id, event.file_id))
        if isinstance(event, _QUEUED | _ANALYSIS):
            self._add_analysis(event)

    def _add_analysis(self, event: _QUEUED | _ANALYSIS) -> None:
        row = _analysis_row(event)
        old = self.analyses.get(event.file_id)
        if old is None or row["stamp"] > old["stamp"]:
            self.analyses[event.file_id] = row
        if isinstance(event, AnalysisCompleted):
            props = feature_props(event.payload.features, row["stamp"])
            prev = self.features.get(event.file_id)
            if prev is None or props["features_stamp"] > prev["features_stamp"]:
                self.features[event.file_id] = props

    def intents(self) -> GraphIntents:
        analyses = []
        for fid, row in sorted(self.analyses.items()):
            merged = row.copy()
            merged["features"] = self.features.get(fid)
            analyses.append(merged)
        return GraphIntents(
            files=tuple(row for _, row in sorted(self.files.items())),
            analyses=tuple(analyses),
            moves=tuple({"src": s, "dst": d} for s, d in sorted(self.moves)),
        )


class Neo4jProjector:
    """Pure part of the Neo4j projection: no I/O, same batch in, same intents out."""

    name = PROJECTION_NAME

    def apply(self, batch: Sequence[Positioned]) -> GraphIntents:
        reducer = _Reducer()
        for item in batch:
            reducer.add(item.event)
        return reducer.intents()
