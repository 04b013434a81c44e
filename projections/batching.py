"""Pure helpers of the runner: turn fetched Kafka records into a batch of positioned events
plus the checkpoints that batch advances, and trim a batch when partitions are revoked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from projections.base import Checkpoints, Positioned, TopicPartitionKey
from schemas.codec import decode
from schemas.envelope import SchemaError


class RecordLike(Protocol):
    """What we read from an aiokafka ConsumerRecord."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def value(self) -> Any: ...


@dataclass(frozen=True)
class Skipped:
    """A record that could not be decoded; it is logged and counted, never retried."""

    topic: str
    partition: int
    offset: int
    reason: str
    message: str


@dataclass(frozen=True)
class Batch:
    """Events to apply and, per partition, the highest offset the batch covers.

    Checkpoints include undecodable records, so a poison message is passed exactly once.
    """

    events: list[Positioned]
    checkpoints: Checkpoints
    skipped: list[Skipped] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not self.checkpoints


def decode_records(records: Iterable[Sequence[RecordLike]], done: Checkpoints,
                   stop_before: int | None = None) -> Batch:
    """Decode every record above its partition's checkpoint in `done`.

    Records at or below the checkpoint were written before (redelivery after a restart or a
    rebalance) and are dropped here, before `apply`. With `stop_before`, records at or past
    that offset are left out entirely (a point-in-time rebuild); they stay for a later run.
    """
    events: list[Positioned] = []
    skipped: list[Skipped] = []
    checkpoints: Checkpoints = {}
    for partition_records in records:
        for rec in partition_records:
            key = (rec.topic, rec.partition)
            if rec.offset <= done.get(key, -1):
                continue
            if stop_before is not None and rec.offset >= stop_before:
                continue
            checkpoints[key] = max(checkpoints.get(key, -1), rec.offset)
            try:
                if rec.value is None:
                    raise SchemaError("empty", "record has no value (tombstone)")
                event = decode(rec.value)
            except SchemaError as exc:
                skipped.append(Skipped(rec.topic, rec.partition, rec.offset, exc.reason, str(exc)))
                continue
            events.append(Positioned(event, rec.topic, rec.partition, rec.offset))
    return Batch(events, checkpoints, skipped)


def without_partitions(batch: Batch, gone: set[TopicPartitionKey]) -> Batch:
    """The part of `batch` still owned after `gone` were revoked (the new owner redoes those)."""
    return Batch(
        [p for p in batch.events if (p.topic, p.partition) not in gone],
        {k: v for k, v in batch.checkpoints.items() if k not in gone},
        [s for s in batch.skipped if (s.topic, s.partition) not in gone],
    )


def advance(done: Checkpoints, written: Mapping[TopicPartitionKey, int]) -> None:
    """Move in-memory checkpoints forward after a successful write (never backwards)."""
    for key, offset in written.items():
        done[key] = max(done.get(key, -1), offset)
