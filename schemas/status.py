"""The file-status vocabulary, defined once: a file's status in the library read models
(PostgreSQL `tracks.status`, Neo4j `Track.status`) and within one publish batch (the Redis
progress tables) are the same words, `TrackStatus`.

What is stored: PostgreSQL and Neo4j keep the words; Redis keeps one letter per file
(projections/redis/apply.py `CODE`), so a file's state read from Redis is the same word as
its library status. Before this vocabulary was one, the batch side said `in_progress`,
`succeeded`, `removed`; `LEGACY_WORDS` maps those to today's words for readers of entries
written before.

The batch counters are not statuses: they are the documented names of per-batch counts (the
Redis batch hash fields, `BatchProgress`, the JSON of `tracktion progress --json` and
`publish --wait`, the Progress page), and keep their names. `BATCH_COUNTER` says which counter
counts the files in which status:

    status      batch counter   set by
    queued      queued          FileDiscovered, FileModified, AnalysisRequested
    analysing   in_progress     AnalysisStarted
    analysed    succeeded       AnalysisCompleted
    failed      failed          AnalysisFailed
    deleted     removed         FileDeleted (and, in the library, FileMoved's old id)

(`total` and `files` are sums, not statuses: see docs/progress-redis.md.)
"""

from __future__ import annotations

from enum import StrEnum


class TrackStatus(StrEnum):
    """A file's status: in PostgreSQL (`tracks.status`), Neo4j (`Track.status`) and, within
    a publish batch, the Redis progress tables."""

    QUEUED = "queued"
    ANALYSING = "analysing"
    ANALYSED = "analysed"
    FAILED = "failed"
    DELETED = "deleted"


# The counter of each status in a batch's counts: documented names, never renamed.
BATCH_COUNTER: dict[TrackStatus, str] = {
    TrackStatus.QUEUED: "queued",
    TrackStatus.ANALYSING: "in_progress",
    TrackStatus.ANALYSED: "succeeded",
    TrackStatus.FAILED: "failed",
    TrackStatus.DELETED: "removed",
}

# The batch side's former words for a file's state; readers map them.
LEGACY_WORDS: dict[str, TrackStatus] = {
    "in_progress": TrackStatus.ANALYSING,
    "succeeded": TrackStatus.ANALYSED,
    "removed": TrackStatus.DELETED,
}


def parse_status(word: str) -> TrackStatus:
    """A stored status word, today's or a former batch word, as a TrackStatus; ValueError
    for anything else."""
    legacy = LEGACY_WORDS.get(word)
    return legacy if legacy is not None else TrackStatus(word)
