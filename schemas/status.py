"""The two file-status vocabularies, defined once: a track's state in the library read models
(PostgreSQL, Neo4j) and a file's state within one publish batch (the Redis progress tables),
and how the two correspond.

They stay two vocabularies on purpose. The batch words are also the names of the batch
counters (`in_progress`, `succeeded`, `failed`, `removed` in the Redis batch hash, in
`BatchProgress`, in the JSON of `tracktion progress --json` and `publish --wait`, and on the
Progress page), a documented API that renaming would break; and they describe one batch's
work (a deletion *removes* the file from that batch) where the library words describe the
file. What is stored does not depend on either spelling: Redis keeps one-letter codes per
file (projections/redis/apply.py `CODE`), PostgreSQL and Neo4j keep the library words.

    batch (Redis)   library (PostgreSQL, Neo4j)   set by
    queued          queued                        FileDiscovered, FileModified, AnalysisRequested
    in_progress     analysing                     AnalysisStarted
    succeeded       analysed                      AnalysisCompleted
    failed          failed                        AnalysisFailed
    removed         deleted                       FileDeleted (and, in the library, FileMoved's
                                                  old id)
"""

from __future__ import annotations

from enum import StrEnum


class TrackStatus(StrEnum):
    """A track's status in PostgreSQL (`tracks.status`) and Neo4j (`Track.status`)."""

    QUEUED = "queued"
    ANALYSING = "analysing"
    ANALYSED = "analysed"
    FAILED = "failed"
    DELETED = "deleted"


class ProgressStatus(StrEnum):
    """A file's status within a publish batch; also the batch counters' names."""

    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REMOVED = "removed"


TRACK_OF_PROGRESS: dict[ProgressStatus, TrackStatus] = {
    ProgressStatus.QUEUED: TrackStatus.QUEUED,
    ProgressStatus.IN_PROGRESS: TrackStatus.ANALYSING,
    ProgressStatus.SUCCEEDED: TrackStatus.ANALYSED,
    ProgressStatus.FAILED: TrackStatus.FAILED,
    ProgressStatus.REMOVED: TrackStatus.DELETED,
}
