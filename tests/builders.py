"""Test event builders: one function per event type, shared by the unit and integration tests.

Each builder takes the file's `FileInfo` (its stream id derives from root and relative path,
as the publisher's does) and the envelope fields as keywords; what a test varies is explicit,
everything else has one default here instead of one per test module.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict, Unpack

from schemas.analysis_events import (
    AnalysisCompleted,
    AnalysisCompletedPayload,
    AnalysisFailed,
    AnalysisFailedPayload,
    AnalysisStarted,
    AnalysisStartedPayload,
    FailureReason,
    Features,
)
from schemas.envelope import Priority, file_id_for
from schemas.file_events import (
    AnalysisReason,
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

ROOT = "/music"


class Envelope(TypedDict, total=False):
    """Envelope fields a test may fix; unset ones get `create`'s fresh id and time."""

    file_id: str  # only to override the id derived from the file
    correlation_id: str
    causation_id: str | None
    priority: Priority
    occurred_at: datetime
    event_id: str


def file_info(rel: str, *, root: str = ROOT, size: int = 1, mtime: float = 1.0,
              content_hash: str = "aa", format: str = "mp3",
              tags: Tags | None = None) -> FileInfo:
    return FileInfo(path=f"{root}/{rel}", library_root=root, relative_path=rel, size=size,
                    mtime=mtime, content_hash=content_hash, format=format,
                    tags=Tags() if tags is None else tags)


def _envelope(file: FileInfo, env: Envelope) -> Envelope:
    return {"file_id": file_id_for(file.library_root, file.relative_path),
            "correlation_id": "c", **env}


def discovered(file: FileInfo, **env: Unpack[Envelope]) -> FileDiscovered:
    return FileDiscovered.create(**_envelope(file, env),  # type: ignore[no-any-return]
                                 payload=FileDiscoveredPayload(file=file))


def modified(file: FileInfo, previous_hash: str | None = None,
             **env: Unpack[Envelope]) -> FileModified:
    return FileModified.create(**_envelope(file, env),  # type: ignore[no-any-return]
                               payload=FileModifiedPayload(file=file,
                                                           previous_hash=previous_hash))


def moved(file: FileInfo, previous_rel: str, **env: Unpack[Envelope]) -> FileMoved:
    """`file` at its new place; the old one was `previous_rel` under the same root."""
    root = file.library_root
    return FileMoved.create(**_envelope(file, env),  # type: ignore[no-any-return]
                            payload=FileMovedPayload(
                                file=file, previous_file_id=file_id_for(root, previous_rel),
                                previous_path=f"{root}/{previous_rel}"))


def deleted(file: FileInfo, **env: Unpack[Envelope]) -> FileDeleted:
    return FileDeleted.create(**_envelope(file, env),  # type: ignore[no-any-return]
                              payload=FileDeletedPayload(path=file.path,
                                                         library_root=file.library_root,
                                                         relative_path=file.relative_path))


def requested(file: FileInfo, reason: AnalysisReason = "reanalyse", force: bool = False,
              **env: Unpack[Envelope]) -> AnalysisRequested:
    return AnalysisRequested.create(**_envelope(file, env),  # type: ignore[no-any-return]
                                    payload=AnalysisRequestedPayload(file=file, reason=reason,
                                                                     force=force))


# Analysis events carry the hash the agent read; `content_hash` overrides the file's when a
# test needs them to differ (or never cared to keep them equal).

def started(file: FileInfo, worker: str = "w", content_hash: str | None = None,
            **env: Unpack[Envelope]) -> AnalysisStarted:
    return AnalysisStarted.create(**_envelope(file, env),  # type: ignore[no-any-return]
                                  payload=AnalysisStartedPayload(
                                      path=file.path, worker=worker,
                                      content_hash=content_hash or file.content_hash))


def completed(file: FileInfo, features: Features, analysis_id: str,
              processing_ms: float = 1.0, worker: str = "", content_hash: str | None = None,
              **env: Unpack[Envelope]) -> AnalysisCompleted:
    return AnalysisCompleted.create(**_envelope(file, env),  # type: ignore[no-any-return]
                                    payload=AnalysisCompletedPayload(
                                        analysis_id=analysis_id, path=file.path,
                                        content_hash=content_hash or file.content_hash,
                                        features=features, processing_ms=processing_ms,
                                        worker=worker))


def failed(file: FileInfo, reason: FailureReason = "corrupt", message: str = "bad",
           attempts: int = 1, transient: bool = False, content_hash: str | None = None,
           **env: Unpack[Envelope]) -> AnalysisFailed:
    return AnalysisFailed.create(**_envelope(file, env),  # type: ignore[no-any-return]
                                 payload=AnalysisFailedPayload(
                                     path=file.path, content_hash=content_hash or file.content_hash,
                                     reason=reason, message=message, attempts=attempts,
                                     transient=transient))
