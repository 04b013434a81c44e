"""Pure part of the Redis progress projection: events of a publish batch become per-file status
intents ordered by a join-semilattice key, so that merging them is idempotent and commutative.

The model: a publish batch is identified by the `correlation_id` its events carry. Within a
batch every file has one status, the one of its *greatest* event under the key
`(rank(status), stamp)`, the stamp being `(occurred_at, event_id)` (projections/base.py):

    queued (1) < analysing (2) < analysed = failed (3) < deleted (4)

Why rank first and time second: within one batch a file only moves forward (requested, taken
by an agent, finished). Events come from different hosts (publisher, agents) whose clocks may
skew, and different topics are not ordered with respect to each other, so a late or skewed
"started" must never override "analysed"; the rank decides. Among terminal outcomes
(analysed/failed, e.g. a transient failure followed by a successful retry) the later event
wins. A deletion within the batch removes the file from the batch's work whatever else
happened, which makes "deleted" absorbing regardless of arrival order.

Because "the greatest key" is a max over a total order, the state of a file is a function of
the *set* of events seen: duplicates, redelivery and reordering cannot change it. Batch times
are min/max over the same set for the same reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from projections.base import Positioned, stamp
from schemas.analysis_events import AnalysisCompleted, AnalysisFailed, AnalysisStarted
from schemas.codec import AnyEvent
from schemas.file_events import AnalysisRequested, FileDeleted, FileDiscovered, FileModified
from schemas.status import TrackStatus as Status

RANK: dict[Status, int] = {
    Status.QUEUED: 1, Status.ANALYSING: 2, Status.ANALYSED: 3, Status.FAILED: 3,
    Status.DELETED: 4,
}
# One letter per status keeps the per-file hash values short (100k files per batch is normal).
# Stored: never change a letter (the Lua script and every batch hash written so far use them);
# p, s and r are the initials of the batch's former words (in_progress, succeeded, removed).
CODE: dict[Status, str] = {
    Status.QUEUED: "q", Status.ANALYSING: "p", Status.ANALYSED: "s", Status.FAILED: "f",
    Status.DELETED: "r",
}
TERMINAL: frozenset[Status] = frozenset({Status.ANALYSED, Status.FAILED, Status.DELETED})


def status_of(event: AnyEvent) -> Status | None:
    """The status an event puts its file in, or None for events that do not touch progress.

    FileMoved claims nothing: a move re-keys the file. The analysis agent answers it under the
    new id (from the cache when the bytes were analysed), and those events count when they
    come; topics written before moves were answered hold none, so queued would never end.
    """
    if isinstance(event, FileDiscovered | FileModified | AnalysisRequested):
        return Status.QUEUED
    if isinstance(event, AnalysisStarted):
        return Status.ANALYSING
    if isinstance(event, AnalysisCompleted):
        return Status.ANALYSED
    if isinstance(event, AnalysisFailed):
        return Status.FAILED
    if isinstance(event, FileDeleted):
        return Status.DELETED
    return None


@dataclass(frozen=True, order=False)
class FileStatus:
    """A file's status within a batch as claimed by one event."""

    correlation_id: str
    file_id: str
    status: Status
    at_us: int  # with event_id, the event's stamp (projections/base.py)
    event_id: str

    def key(self) -> tuple[int, int, bytes]:
        """Total order of claims; event ids compare as bytes, exactly like the Lua writer."""
        return RANK[self.status], self.at_us, self.event_id.encode()


@dataclass(frozen=True)
class BatchTimes:
    """Event-time bounds of a batch contributed by a group of events (min/max are idempotent)."""

    correlation_id: str
    first_at_us: int
    last_at_us: int
    done_at_us: int | None  # latest terminal event; None if the group had none


@dataclass(frozen=True)
class ProgressIntents:
    files: tuple[FileStatus, ...]
    batches: tuple[BatchTimes, ...]

    def __len__(self) -> int:
        return len(self.files)


def merge(a: FileStatus, b: FileStatus) -> FileStatus:
    """Join of two claims on the same file: the greater key wins. The reference semantics
    the Lua script implements; commutative, associative and idempotent."""
    return b if b.key() > a.key() else a


def merge_times(a: BatchTimes, b: BatchTimes) -> BatchTimes:
    done = [t for t in (a.done_at_us, b.done_at_us) if t is not None]
    return BatchTimes(a.correlation_id, min(a.first_at_us, b.first_at_us),
                      max(a.last_at_us, b.last_at_us), max(done) if done else None)


def claims(events: Iterable[AnyEvent]) -> Iterable[FileStatus]:
    for event in events:
        status = status_of(event)
        if status is not None:
            s = stamp(event)
            yield FileStatus(event.correlation_id, event.file_id, status, s.at_us, s.event_id)


def reduce_claims(items: Iterable[FileStatus]) -> ProgressIntents:
    """Pre-merge claims per (batch, file) and times per batch, so the writer touches each file
    once per call; merging here and again in Redis equals merging once (associativity)."""
    files: dict[tuple[str, str], FileStatus] = {}
    batches: dict[str, BatchTimes] = {}
    for claim in items:
        slot = (claim.correlation_id, claim.file_id)
        held = files.get(slot)
        files[slot] = claim if held is None else merge(held, claim)
        done = claim.at_us if claim.status in TERMINAL else None
        times = BatchTimes(claim.correlation_id, claim.at_us, claim.at_us, done)
        held_times = batches.get(claim.correlation_id)
        batches[claim.correlation_id] = (
            times if held_times is None else merge_times(held_times, times))
    return ProgressIntents(tuple(files.values()), tuple(batches.values()))


class RedisProgressProjector:
    """Projector "redis": positioned events to progress intents. No I/O."""

    name = "redis"

    def apply(self, batch: Sequence[Positioned]) -> ProgressIntents:
        return reduce_claims(claims(p.event for p in batch))
