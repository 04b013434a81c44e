"""The projection contract: a pure `apply` turning positioned events into write intents, and a
writer that stores intents and the checkpoint in one atomic step.

Delivery is at-least-once, so two guarantees combine into an exactly-once effect:
- positions: the writer stores `(projection, topic, partition) -> offset` atomically with the
  rows; the runner skips records at or below the stored offset (redelivery after a crash);
- content: `apply` output is idempotent by `event_id` / last-writer-wins on the event's
  `stamp` (occurred_at, then event_id), so the same event appearing twice at different
  offsets (the bridge may duplicate on a crash) leaves the same state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, Protocol, TypeVar

from schemas.codec import AnyEvent
from schemas.envelope import Event

TopicPartitionKey = tuple[str, int]
Checkpoints = dict[TopicPartitionKey, int]

I = TypeVar("I")  # noqa: E741 - the intents type of one projection
I_co = TypeVar("I_co", covariant=True)
I_contra = TypeVar("I_contra", contravariant=True)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(at: datetime) -> int:
    """Exact integer microseconds since the epoch (floats would lose the last digits).

    Values stay below 2**53, so Lua's double numbers in the Redis writer compare them exactly.
    """
    return (at - _EPOCH) // timedelta(microseconds=1)


def from_micros(us: int) -> datetime:
    """The inverse of `micros`: a stored microsecond count back to a UTC datetime."""
    return _EPOCH + timedelta(microseconds=us)


@dataclass(frozen=True, order=True)
class Stamp:
    """The last-writer-wins order of events: event time, then the event id breaks ties.

    Events reach a projection from several hosts and topics, so arrival order means nothing;
    every read model keeps, per register, what the greatest stamp says. Each store keeps the
    stamp in a form that sorts the same way: `postgres.rows.version_key` (text, COLLATE
    "C"), `neo4j.apply.stamp_text` (text), the Redis writers `(at_us, event_id)`.
    """

    at: datetime  # timezone-aware UTC, microsecond resolution
    event_id: str

    @property
    def at_us(self) -> int:
        return micros(self.at)


def stamp(event: Event) -> Stamp:
    return Stamp(event.occurred_at.astimezone(UTC), event.event_id)


@dataclass(frozen=True)
class Positioned:
    """An event with where it was read from; offsets become checkpoints."""

    event: AnyEvent
    topic: str
    partition: int
    offset: int


class Projector(Protocol[I_co]):
    """Pure: no I/O. Same input, same output."""

    name: str

    def apply(self, batch: Sequence[Positioned]) -> I_co: ...


class Writer(Protocol[I_contra]):
    """I/O: writes intents and checkpoints in one transaction (or one atomic script)."""

    async def setup(self) -> None:
        """Create tables / constraints / scripts idempotently."""

    async def load_checkpoints(self, projection: str) -> Checkpoints: ...

    async def write(self, projection: str, intents: I_contra, checkpoints: Checkpoints) -> None: ...

    async def reset(self, projection: str) -> None:
        """Drop the read model and checkpoints of `projection` (for replay)."""

    async def ping(self) -> None:
        """Raise if the store is unreachable (readiness and circuit-breaker probes)."""

    async def close(self) -> None: ...


@dataclass(frozen=True)
class ProjectionSpec(Generic[I]):
    """What the runner needs to run one projection: its pure part and its writer."""

    projector: Projector[I]
    writer: Writer[I]
    dependency: str  # name used for the circuit breaker and metrics, e.g. "postgres"
