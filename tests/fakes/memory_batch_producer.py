"""An in-memory Kafka producer of record batches, the calls the bridge makes: create_batch,
append, send_batch, partitions_for. Acks, refusals and batch capacity are under test control."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Record:
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


class MemoryBatch:
    """A BatchBuilder holding at most `capacity` records (`append` returns None when full)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.records: list[Record] = []

    def append(self, *, key: bytes | None, value: bytes, timestamp: int | None,
               headers: list[tuple[str, bytes]]) -> object | None:
        if len(self.records) >= self.capacity:
            return None
        self.records.append(Record(key, value, tuple(headers)))
        return object()


@dataclass
class SentBatch:
    topic: str
    partition: int
    records: list[Record]
    delivered: asyncio.Future[None]


@dataclass
class MemoryKafka:
    """The cluster; `producer` is the bridge's `producer_factory` (it makes a new one on
    every call, as the bridge does when it renews its producer). `refuse` may return the
    error a sent batch fails with; `auto_ack=False` leaves acks to `ack_all`."""

    partitions: int = 6
    batch_capacity: int = 1000
    auto_ack: bool = True
    refuse: Callable[[SentBatch], BaseException | None] | None = None
    batches: list[SentBatch] = field(default_factory=list)
    producers: list[MemoryBatchProducer] = field(default_factory=list)

    def producer(self) -> MemoryBatchProducer:
        self.producers.append(MemoryBatchProducer(self))
        return self.producers[-1]

    def ack_all(self) -> None:
        for batch in self.batches:
            if not batch.delivered.done():
                batch.delivered.set_result(None)

    def held(self) -> list[tuple[str, int, Record]]:
        """Every record Kafka acknowledged, in send order."""
        return [(b.topic, b.partition, r) for b in self.batches
                if b.delivered.done() and b.delivered.exception() is None for r in b.records]


class MemoryBatchProducer:
    def __init__(self, kafka: MemoryKafka) -> None:
        self.kafka = kafka
        self.started = self.stopped = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(self.kafka.partitions))

    def create_batch(self) -> MemoryBatch:
        return MemoryBatch(self.kafka.batch_capacity)

    async def send_batch(self, batch: MemoryBatch, topic: str,
                         partition: int) -> asyncio.Future[None]:
        assert self.started and not self.stopped, "producer not running"
        sent = SentBatch(topic, partition, list(batch.records),
                         asyncio.get_running_loop().create_future())
        self.kafka.batches.append(sent)
        error = self.kafka.refuse(sent) if self.kafka.refuse is not None else None
        if error is not None:
            sent.delivered.set_exception(error)
        elif self.kafka.auto_ack:
            sent.delivered.set_result(None)
        return sent.delivered
