"""The bridge's batching against an in-memory RabbitMQ and Kafka: when a batch is flushed,
where its records land, and that RabbitMQ is settled only for what Kafka acknowledged."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from aiokafka.errors import KafkaConnectionError

from schemas.codec import decode, encode
from schemas.envelope import Priority
from schemas.file_events import FileDiscovered, FileDiscoveredPayload
from schemas.namespace import Namespace
from streams.bridge.bridge import Bridge
from streams.bridge.partitioner import partitions_for
from tests.fakes.memory_amqp import MemoryAmqp, MemoryChannel, Settle
from tests.fakes.memory_batch_producer import MemoryKafka, SentBatch
from tests.unit.schemas.samples import INFO

NS = Namespace("t")
NORMAL = NS.lane_topic("normal")


def event(n: int, file: int | None = None, priority: Priority = "normal") -> bytes:
    return encode(FileDiscovered.create(
        file_id=f"{file if file is not None else n:036d}", correlation_id="c",
        event_id=f"e{n}", priority=priority, payload=FileDiscoveredPayload(file=INFO)))


def body_key(body: bytes) -> bytes:
    return decode(body).file_id.encode()


class Running:
    """A started bridge over one MemoryAmqp and one MemoryKafka, its run() as a task."""

    def __init__(self, kafka: MemoryKafka, **options: int | float) -> None:
        self.kafka, self.amqp = kafka, MemoryAmqp()
        # The fakes stand in structurally for aiokafka's producer and aiormq's connection.
        self.bridge = Bridge("amqp://memory", "memory:9092", NS,
                             producer_factory=kafka.producer,  # type: ignore[arg-type]
                             amqp_connect=self.amqp.connect,  # type: ignore[arg-type]
                             **options)  # type: ignore[arg-type]
        self.task: asyncio.Task[None] | None = None

    @property
    def channel(self) -> MemoryChannel:
        return self.amqp.channel

    async def start(self) -> Running:
        await self.bridge.start()
        self.task = asyncio.create_task(self.bridge.run())
        return self

    async def deliver(self, *bodies: bytes) -> None:
        for body in bodies:
            await self.channel.deliver(body)

    async def stop(self) -> None:
        await asyncio.wait_for(self.bridge.stop(), 5)
        if self.task is not None:
            await self.task


@pytest.fixture
async def bridges() -> AsyncIterator[Callable[..., Running]]:
    made: list[Running] = []

    def make(kafka: MemoryKafka | None = None, **options: int | float) -> Running:
        made.append(Running(kafka or MemoryKafka(), **options))
        return made[-1]

    yield make
    for running in made:
        if running.task is not None and not running.task.done():
            await running.stop()


async def until(check: Callable[[], bool], what: str, timeout_s: float = 2.0) -> None:
    for _ in range(int(timeout_s / 0.002)):
        if check():
            return
        await asyncio.sleep(0.002)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_full_batch_is_forwarded_at_once_and_acked_in_one_frame(
        bridges: Callable[..., Running]) -> None:
    running = await bridges(batch_size=4, linger_s=30).start()
    await running.deliver(*(event(n) for n in range(4)))
    await until(lambda: len(running.channel.acked) == 4, "the batch acked", timeout_s=1)
    assert running.channel.frames == [Settle("ack", 4, multiple=True)]
    assert len(running.kafka.held()) == 4 and running.bridge.forwarded == 4


async def test_a_partial_batch_waits_for_the_linger_time(bridges: Callable[..., Running]) -> None:
    running = await bridges(batch_size=100, linger_s=0.2).start()
    await running.deliver(*(event(n) for n in range(3)))
    await asyncio.sleep(0.05)
    assert running.kafka.batches == []  # still lingering for more
    await until(lambda: len(running.channel.acked) == 3, "the linger flush")


async def test_records_land_on_their_keys_partitions_in_delivery_order(
        bridges: Callable[..., Running]) -> None:
    running = await bridges(batch_size=12, linger_s=30).start()
    bodies = [event(n, file=n % 4, priority="high" if n % 4 == 0 else "normal")
              for n in range(12)]
    await running.deliver(*bodies)
    await until(lambda: len(running.channel.acked) == 12, "the batch acked")
    held = running.kafka.held()
    for topic, partition, record in held:
        assert record.key is not None
        assert partition == partitions_for([record.key], 6)[0]
        assert topic == NS.lane_topic("high" if record.key == f"{0:036d}".encode() else "normal")
    # One batch per (topic, partition); within a partition, the order of delivery.
    slots = [(b.topic, b.partition) for b in running.kafka.batches]
    assert len(slots) == len(set(slots))
    for slot in set(slots):
        values = [r.value for t, p, r in held if (t, p) == slot]
        assert values == [b for b in bodies if b in values]


async def test_a_full_kafka_batch_is_shipped_and_another_started_in_order(
        bridges: Callable[..., Running]) -> None:
    running = await bridges(MemoryKafka(batch_capacity=2), batch_size=5, linger_s=30).start()
    bodies = [event(n, file=7) for n in range(5)]
    await running.deliver(*bodies)
    await until(lambda: len(running.channel.acked) == 5, "the batch acked")
    assert [len(b.records) for b in running.kafka.batches] == [2, 2, 1]
    assert [r.value for _, _, r in running.kafka.held()] == bodies


async def test_rabbitmq_is_acked_only_once_kafka_acked(bridges: Callable[..., Running]) -> None:
    kafka = MemoryKafka(auto_ack=False)
    running = await bridges(kafka, batch_size=3, linger_s=30).start()
    await running.deliver(*(event(n) for n in range(3)))
    await until(lambda: bool(kafka.batches), "the batch sent")
    await asyncio.sleep(0.02)
    assert running.channel.frames == []  # acking now could lose the batch
    kafka.ack_all()
    await until(lambda: len(running.channel.acked) == 3, "the ack after Kafka's")


async def test_what_kafka_refuses_for_now_is_requeued_and_the_rest_acked(
        bridges: Callable[..., Running]) -> None:
    bodies = [event(n) for n in range(8)]
    down = partitions_for([f"{0:036d}".encode()], 6)[0]  # the partition of file 0's event

    def refuse(batch: SentBatch) -> BaseException | None:
        return KafkaConnectionError("leader gone") if batch.partition == down else None

    running = await bridges(MemoryKafka(refuse=refuse), batch_size=8, linger_s=30).start()
    await running.deliver(*bodies)
    await until(lambda: len(running.channel.acked) + len(running.channel.requeued) == 8,
                "every delivery settled")
    refused = {t for t, body in enumerate(bodies, start=1)
               if partitions_for([body_key(body)], 6)[0] == down}
    assert set(running.channel.requeued) == refused and 1 in refused
    assert set(running.channel.acked) == set(range(1, 9)) - refused
    assert all(not f.multiple for f in running.channel.frames)  # one by one on this path
    assert running.bridge.send_failures == 1
    assert running.bridge.forwarded == 8 - len(refused)


async def test_poison_goes_to_the_dead_letters_in_the_same_acked_batch(
        bridges: Callable[..., Running]) -> None:
    running = await bridges(batch_size=5, linger_s=30).start()
    poison = [b"not json", b"{}", b"[]"]
    await running.deliver(event(1), *poison, event(2))
    await until(lambda: len(running.channel.acked) == 5, "the batch acked")
    dead = [(p, r) for t, p, r in running.kafka.held() if t == NS.deadletter_topic]
    assert [r.value for _, r in dead] == poison and {r.key for _, r in dead} == {None}
    assert len({p for p, _ in dead}) == 3  # unkeyed: spread over the partitions
    assert (running.bridge.forwarded, running.bridge.deadlettered) == (2, 3)


async def test_stop_forwards_what_is_buffered_then_closes(
        bridges: Callable[..., Running]) -> None:
    running = await bridges(batch_size=100, linger_s=30).start()
    await running.deliver(*(event(n) for n in range(3)))
    await running.stop()
    assert running.channel.acked == [1, 2, 3] and running.channel.requeued == []
    assert running.channel.is_closed and running.kafka.producers[-1].stopped
    assert len(running.kafka.held()) == 3


async def test_a_send_kafka_never_acknowledges_is_reported_and_nothing_acked(
        bridges: Callable[..., Running]) -> None:
    from infra.metrics import BRIDGE_SEND_STALLS

    kafka = MemoryKafka(auto_ack=False)  # as the idempotent producer behaves with no quorum
    before = BRIDGE_SEND_STALLS._value.get()
    running = await bridges(kafka, batch_size=3, linger_s=30, stall_report_s=0.05).start()
    await running.deliver(*(event(n) for n in range(3)))
    await until(lambda: running.bridge.stall_reports >= 3, "three stall reports")
    assert running.channel.frames == []  # still waiting: nothing acked, nothing requeued
    assert BRIDGE_SEND_STALLS._value.get() - before >= 3
    kafka.ack_all()
    await until(lambda: len(running.channel.acked) == 3, "the ack once Kafka answers")
    assert running.bridge.send_failures == 0 and running.bridge.forwarded == 3


async def test_a_bridge_whose_start_failed_stops_at_once_and_closes_its_producer() -> None:
    kafka = MemoryKafka()

    async def rabbitmq_down(url: str) -> object:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5672)")

    bridge = Bridge("amqp://memory", "memory:9092", NS,
                    producer_factory=kafka.producer,  # type: ignore[arg-type]
                    amqp_connect=rabbitmq_down)  # type: ignore[arg-type]
    with pytest.raises(ConnectionRefusedError):
        await bridge.start()
    # Before, stop() waited 30 s for a run() that never started; the worker's shutdown
    # timeout ran out first and the Kafka producer was left unclosed.
    await asyncio.wait_for(bridge.stop(), 1)
    assert all(p.stopped for p in kafka.producers)
