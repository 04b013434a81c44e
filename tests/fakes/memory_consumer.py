"""An in-memory Kafka: a log of partitions and a consumer of it that tests rebalance at will.

The consumer follows aiokafka where the ProjectionRunner depends on it: an eager rebalance
(every partition revoked, then the new set assigned, positions reset to the group's committed
offsets or 0 until someone seeks), pause/resume, seek, manual commits, and a fetch that may
return records read before a rebalance which landed while the fetch was in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import TopicPartition

from projections.consumer import RebalanceListener

Hook = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class MemoryRecord:
    """The fields of an aiokafka ConsumerRecord the runner reads."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


class MemoryLog:
    """What the brokers hold: topics of partitions of records, offsets from 0."""

    def __init__(self, topics: Mapping[str, int]) -> None:
        self._records: dict[TopicPartition, list[MemoryRecord]] = {
            TopicPartition(t, p): [] for t, n in topics.items() for p in range(n)}
        self.topics = dict(topics)

    def append(self, topic: str, partition: int, value: bytes | None, key: bytes | None = None,
               headers: Iterable[tuple[str, bytes]] = ()) -> MemoryRecord:
        records = self._records[TopicPartition(topic, partition)]
        record = MemoryRecord(topic, partition, len(records), key, value, tuple(headers))
        records.append(record)
        return record

    def records(self, tp: TopicPartition) -> list[MemoryRecord]:
        return self._records[tp]

    def end(self, tp: TopicPartition) -> int:
        return len(self._records[tp])

    def partitions(self, topics: Iterable[str] | None = None) -> set[TopicPartition]:
        wanted = set(self.topics if topics is None else topics)
        return {tp for tp in self._records if tp.topic in wanted}


class MemoryConsumer:
    """One group member over a MemoryLog; `start()` assigns it every subscribed partition."""

    def __init__(self, log: MemoryLog, committed: Mapping[TopicPartition, int] | None = None,
                 *, assign_on_start: bool = True) -> None:
        self.log = log
        self.committed_offsets: dict[TopicPartition, int] = dict(committed or {})
        self.commits: list[dict[TopicPartition, int]] = []
        self.started = self.stopped = False
        self._assign_on_start = assign_on_start
        self._topics: list[str] = []
        self._listener: RebalanceListener | None = None
        self._assigned: set[TopicPartition] = set()
        self._paused: set[TopicPartition] = set()
        self._positions: dict[TopicPartition, int] = {}
        self._in_flight: list[tuple[Hook, bool]] = []

    # ------------------------------------------------------------ test controls

    def during_next_fetch(self, hook: Hook, *, read_first: bool = True) -> None:
        """Run `hook` (say, a rebalance) while the next `getmany` is in flight.

        `read_first`: the fetch has read its records before the hook ran and returns those.
        Otherwise the fetch was still waiting: it reads once the hook is done, from the
        positions the hook left (aiokafka's case when a rebalance lands during the wait:
        the records come from the new seek, and the positions move past them).
        """
        self._in_flight.append((hook, read_first))

    async def begin_rebalance(self) -> None:
        """The first half of an eager rebalance: every partition is revoked.

        As in aiokafka, the partitions stay assigned until the callback returns, so a write
        the callback waits for can still commit their offsets.
        """
        if self._listener is not None:
            await self._listener.on_partitions_revoked(set(self._assigned))
        self._assigned, self._paused, self._positions = set(), set(), {}

    async def complete_rebalance(self, assigned: Iterable[TopicPartition]) -> None:
        """The second half: `assigned` positioned at the committed offsets, then the callback."""
        self._assigned = set(assigned)
        self._positions = {tp: self.committed_offsets.get(tp, 0) for tp in self._assigned}
        if self._listener is not None:
            await self._listener.on_partitions_assigned(set(self._assigned))

    async def rebalance(self, assigned: Iterable[TopicPartition]) -> None:
        await self.begin_rebalance()
        await self.complete_rebalance(assigned)

    async def revoke(self, *partitions: TopicPartition) -> None:
        """Another member joined and took `partitions`."""
        await self.rebalance(self._assigned - set(partitions))

    async def assign(self, *partitions: TopicPartition) -> None:
        """A member left and `partitions` came to this one."""
        await self.rebalance(self._assigned | set(partitions))

    # ------------------------------------------------------------ the Consumer protocol

    def subscribe(self, topics: list[str], listener: Any) -> None:
        self._topics, self._listener = list(topics), listener

    async def start(self) -> None:
        self.started = True
        if self._assign_on_start:
            await self.rebalance(self.log.partitions(self._topics))

    async def stop(self) -> None:
        self.stopped = True
        self._assigned, self._paused = set(), set()

    async def getmany(self, *partitions: TopicPartition, timeout_ms: int = 0,
                      max_records: int | None = None,
                      ) -> dict[TopicPartition, Sequence[MemoryRecord]]:
        if not self.started or self.stopped:
            raise RuntimeError("consumer not running")
        hooks, self._in_flight = self._in_flight, []
        read_first = all(first for _, first in hooks)
        fetched = self._read(max_records) if read_first else {}
        for hook, _ in hooks:
            await hook()
        if not read_first:
            fetched = self._read(max_records)
        if not fetched and not hooks:
            await asyncio.sleep(timeout_ms / 1000)  # a real poll blocks when nothing is there
        return fetched

    def _read(self, max_records: int | None) -> dict[TopicPartition, Sequence[MemoryRecord]]:
        left = max_records if max_records is not None else 10**9
        out: dict[TopicPartition, Sequence[MemoryRecord]] = {}
        for tp in sorted(self._assigned - self._paused):
            position = self._positions[tp]
            records = self.log.records(tp)[position:position + left]
            if records:
                out[tp] = records
                self._positions[tp] = position + len(records)
                left -= len(records)
        return out

    def assignment(self) -> set[TopicPartition]:
        return set(self._assigned)

    def _owned(self, tp: TopicPartition) -> None:
        if tp not in self._assigned:  # aiokafka raises IllegalStateError here too
            raise AssertionError(f"{tp} is not assigned to this consumer")

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self._owned(partition)
        self._positions[partition] = offset

    def pause(self, *partitions: TopicPartition) -> None:
        for tp in partitions:
            self._owned(tp)
        self._paused.update(partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        self._paused.difference_update(partitions)

    def paused(self) -> set[TopicPartition]:
        return set(self._paused)

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        for tp in offsets:
            self._owned(tp)
        self.commits.append(dict(offsets))
        self.committed_offsets.update(offsets)

    async def committed(self, partition: TopicPartition) -> int | None:
        return self.committed_offsets.get(partition)

    async def topics(self) -> set[str]:
        return set(self.log.topics)

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        count = self.log.topics.get(topic)
        return None if count is None else set(range(count))

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self.log.end(tp) for tp in partitions}

    async def position(self, partition: TopicPartition) -> int:
        self._owned(partition)
        return self._positions[partition]

    def highwater(self, partition: TopicPartition) -> int | None:
        return self.log.end(partition) if partition in self._assigned else None
