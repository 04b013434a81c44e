"""The ProjectionRunner's delicate paths against an in-memory Kafka and store: the
generation/settled guard, revocation during a write, pause and retry, seeking from the store.

Each test gets its own breaker (breakers are per dependency per process).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import TopicPartition

from infra.settings import Settings
from projections.base import ProjectionSpec
from projections.breaker import BreakerConfig
from projections.runner import ProjectionRunner
from schemas.codec import encode
from schemas.file_events import FileDiscovered, FileDiscoveredPayload
from tests.fakes.memory_consumer import MemoryConsumer, MemoryLog
from tests.fakes.memory_writer import LatestEventProjector, MemoryWriter
from tests.unit.schemas.samples import INFO

TOPIC = "files"
P0, P1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
FAST = BreakerConfig(fail_max=10, reset_timeout_s=0.05, retry_backoff_s=0.01)


def discovered(n: int) -> bytes:
    return encode(FileDiscovered.create(file_id=f"file-{n:04d}", correlation_id="c",
                                        event_id=f"e{n}", occurred_at=T0 + timedelta(seconds=n),
                                        payload=FileDiscoveredPayload(file=INFO)))


def filled_log(per_partition: int = 5) -> MemoryLog:
    """Two partitions; partition p holds files p*100 .. p*100 + per_partition - 1."""
    log = MemoryLog({TOPIC: 2})
    for p in (0, 1):
        for i in range(per_partition):
            log.append(TOPIC, p, discovered(p * 100 + i))
    return log


class Harness:
    """A runner wired to one MemoryConsumer and one MemoryWriter."""

    def __init__(self, settings: Settings, uid: str, log: MemoryLog,
                 writer: MemoryWriter | None = None, breaker: BreakerConfig = FAST,
                 **consumer: Any) -> None:
        self.consumer = MemoryConsumer(log, **consumer)
        self.writer = writer or MemoryWriter()
        spec = ProjectionSpec(LatestEventProjector(), self.writer, f"memory-{uid}")
        self.runner: ProjectionRunner[Any] = ProjectionRunner(
            spec, settings, [TOPIC], group_id=f"g-{uid}", batch_size=100,
            batch_timeout_ms=5, breaker=breaker, checkpoint_load_timeout_s=0.05,
            consumer_factory=lambda _settings, _group: self.consumer)

    def files_written(self) -> set[str]:
        return {row.file_id for w in self.writer.writes for row in w.intents}

    def partitions_written(self) -> set[int]:
        return {p for w in self.writer.writes for (_, p) in w.checkpoints}


@pytest.fixture
def harness(settings: Settings, uid: str) -> Callable[..., Harness]:
    def make(log: MemoryLog, **kw: Any) -> Harness:
        return Harness(settings, uid, log, **kw)
    return make


async def until(check: Callable[[], bool], what: str, timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.001)


async def test_catches_up_skips_poison_and_commits_what_the_store_holds(
        harness: Callable[..., Harness]) -> None:
    log = filled_log()
    log.append(TOPIC, 1, b"not json")
    h = harness(log)
    assert await h.runner.run_until_caught_up(timeout_s=5) == 10
    await h.runner.stop()
    assert [r.file_id for r in h.writer.rows("memory")] == [
        f"file-{n:04d}" for n in (0, 1, 2, 3, 4, 100, 101, 102, 103, 104)]
    assert h.writer.positions["memory"] == {(TOPIC, 0): 4, (TOPIC, 1): 5}  # poison passed
    assert h.consumer.committed_offsets == {P0: 5, P1: 6}
    assert h.runner.skipped == 1 and h.consumer.stopped and h.writer.closed


async def test_positions_come_from_the_store_not_from_kafka(
        harness: Callable[..., Harness]) -> None:
    # Kafka's group says "all read" (a reset store being replayed); the store has p1 to 2.
    writer = MemoryWriter(positions={"memory": {(TOPIC, 1): 2}})
    h = harness(filled_log(), writer=writer, committed={P0: 5, P1: 5})
    assert await h.runner.run_until_caught_up(timeout_s=5) == 7
    assert h.files_written() == {f"file-{n:04d}" for n in (0, 1, 2, 3, 4, 103, 104)}
    await h.runner.stop()


async def test_a_fetch_in_flight_across_a_rebalance_is_dropped(
        harness: Callable[..., Harness]) -> None:
    """The generation guard: records read before a rebalance are not written, even for a
    partition that went to another member meanwhile."""
    h = harness(filled_log())
    await h.runner.start()
    h.consumer.during_next_fetch(lambda: h.consumer.revoke(P1))
    assert await h.runner.step() == 0  # the fetch held p0 and p1, read before the rebalance
    assert h.writer.writes == []
    assert await h.runner.step() == 5  # p0, fetched again from its seek to 0
    assert h.partitions_written() == {0}
    assert all(f.startswith("file-00") for f in h.files_written())
    await h.runner.stop()


async def test_records_read_after_a_rebalance_in_flight_are_fetched_again(
        harness: Callable[..., Harness]) -> None:
    """A rebalance lands while getmany waits; the fetch then reads from the callback's seek,
    which moves the positions past what it returns. Dropping those records (the generation
    guard) must give them back, or the partition resumes past them and they are never
    projected (found on the cluster: a member's partitions taken over after its SIGKILL)."""
    h = harness(filled_log())
    await h.runner.start()
    assert await h.runner.step() == 10  # both partitions written to 4
    for p in (0, 1):
        for i in range(5, 8):
            h.consumer.log.append(TOPIC, p, discovered(p * 100 + i))
    h.consumer.during_next_fetch(lambda: h.consumer.rebalance({P0, P1}), read_first=False)
    assert await h.runner.step() == 0  # read after the seek, dropped by the guard
    assert await h.runner.run_until_caught_up(timeout_s=5) == 6
    assert h.files_written() == {f"file-{p * 100 + i:04d}" for p in (0, 1) for i in range(8)}
    assert h.writer.positions[h.runner.name] == {(TOPIC, 0): 7, (TOPIC, 1): 7}
    await h.runner.stop()


async def test_a_fetch_in_flight_while_a_rebalance_is_half_done_is_dropped(
        harness: Callable[..., Harness]) -> None:
    """The settled guard: partitions revoked, the new assignment not yet seeked."""
    h = harness(filled_log())
    await h.runner.start()
    h.consumer.during_next_fetch(h.consumer.begin_rebalance)
    assert await h.runner.step() == 0
    assert await h.runner.step() == 0  # waits for the assignment, then gives up the step
    assert h.writer.writes == []
    await h.consumer.complete_rebalance({P0})
    assert await h.runner.step() == 5
    assert h.partitions_written() == {0}
    await h.runner.stop()


async def test_a_revocation_waits_for_the_write_in_flight(
        harness: Callable[..., Harness]) -> None:
    h = harness(filled_log(), writer=MemoryWriter(hold=asyncio.Event()))
    await h.runner.start()
    step = asyncio.create_task(h.runner.step())
    await until(h.writer.in_flight.is_set, "the write to start")
    revocation = asyncio.create_task(h.consumer.revoke(P1))
    await asyncio.sleep(0.02)
    assert not revocation.done()  # it must not trim or forget p1 under a write
    assert h.writer.hold is not None
    h.writer.hold.set()
    assert await step == 10
    await revocation
    (write,) = h.writer.writes
    assert write.checkpoints == {(TOPIC, 0): 4, (TOPIC, 1): 4}  # p1's rows and checkpoint
    assert h.consumer.committed_offsets == {P0: 5, P1: 5}  # committed while still owned
    assert h.consumer.assignment() == {P0}
    await h.runner.stop()


async def test_a_partition_revoked_while_its_batch_waits_is_not_written(
        harness: Callable[..., Harness]) -> None:
    writer = MemoryWriter(failures=[ConnectionError("store down")])
    # A long pause before the retry, so the rebalance surely lands while the batch waits.
    slow = BreakerConfig(fail_max=10, reset_timeout_s=1.0, retry_backoff_s=0.3)
    h = harness(filled_log(), writer=writer, breaker=slow)
    await h.runner.start()
    step = asyncio.create_task(h.runner.step())
    await until(lambda: writer.attempts == 1 and bool(h.consumer.paused()), "a failed write")
    # An eager rebalance revokes both partitions: the waiting batch is dropped whole, and
    # p0, given back, is read again from the store's position.
    await h.consumer.revoke(P1)
    assert await asyncio.wait_for(step, 5) == 0
    assert writer.writes == [] and h.consumer.commits == []
    assert await h.runner.step() == 5
    (write,) = writer.writes
    assert write.checkpoints == {(TOPIC, 0): 4}
    assert {row.file_id for row in write.intents} == {f"file-{n:04d}" for n in range(5)}
    assert not h.consumer.paused()
    await h.runner.stop()


async def test_a_failed_write_pauses_then_retries_the_same_batch_and_resumes(
        harness: Callable[..., Harness]) -> None:
    failures: list[BaseException] = [ConnectionError("down"), TimeoutError()]
    writer = MemoryWriter(failures=failures)
    h = harness(filled_log(), writer=writer)
    seen: list[tuple[set[TopicPartition], dict[TopicPartition, int]]] = []
    writer.on_attempt = lambda _n: seen.append(
        (h.consumer.paused(), dict(h.consumer.committed_offsets)))
    await h.runner.start()
    assert await asyncio.wait_for(h.runner.step(), 5) == 10
    both = {P0, P1}
    # Paused from the first failure until the write succeeds; nothing committed before it.
    assert seen == [(set(), {}), (both, {}), (both, {})]
    assert h.runner.write_failures == 2 and len(writer.writes) == 1
    assert not h.consumer.paused() and h.consumer.committed_offsets == {P0: 5, P1: 5}
    await h.runner.stop()


async def test_stopping_while_the_store_is_down_writes_and_commits_nothing(
        harness: Callable[..., Harness]) -> None:
    writer = MemoryWriter(failures=[ConnectionError("down")] * 1000)
    h = harness(filled_log(), writer=writer)
    task = asyncio.create_task(h.runner.run())
    await until(lambda: writer.attempts >= 3, "three failed writes")
    await asyncio.wait_for(h.runner.stop(), 5)
    await task
    assert writer.writes == [] and h.consumer.commits == []
    assert h.consumer.stopped and writer.closed


async def test_checkpoints_unavailable_at_assignment_keep_partitions_paused_until_loaded(
        harness: Callable[..., Harness]) -> None:
    writer = MemoryWriter(load_failures=10**6)
    h = harness(filled_log(), writer=writer)
    await h.runner.start()  # the callback gives up after checkpoint_load_timeout_s
    assert h.consumer.paused() == {P0, P1} and h.runner.checkpoints_error
    assert await h.runner.step() == 0 and writer.writes == []
    writer.load_failures = 0
    assert await h.runner.run_until_caught_up(timeout_s=5) == 10
    assert h.runner.checkpoints_error is None and not h.consumer.paused()
    await h.runner.stop()


async def test_a_rebalance_seen_while_checkpoints_were_unavailable_leaves_nothing_paused(
        harness: Callable[..., Harness]) -> None:
    """The store is down at assignment; while the runner idles between load retries, a
    rebalance (a member left) assigns the partitions again and its callback, the store back,
    seeks them. The idle poll then gets their records: it gives them back, but must not
    pause them (nothing would resume them: found by test_checkpoint_outage on real Kafka)."""
    writer = MemoryWriter(load_failures=10**6)
    h = harness(filled_log(), writer=writer)
    await h.runner.start()
    assert h.consumer.paused() == {P0, P1}

    async def store_back_then_rebalance() -> None:
        writer.load_failures = 0
        await h.consumer.rebalance({P0, P1})

    h.consumer.during_next_fetch(store_back_then_rebalance, read_first=False)
    assert await h.runner.step() == 0  # the retried load failed before the rebalance
    assert not h.consumer.paused()
    assert await h.runner.run_until_caught_up(timeout_s=5) == 10
    await h.runner.stop()


async def test_records_held_back_while_a_callback_awaits_the_store_are_resumed_by_its_seek(
        harness: Callable[..., Harness]) -> None:
    """The other order: the idle poll gets records of a new assignment while its callback
    still waits for the store's checkpoints, and holds them back; the callback's seek
    must resume them."""
    writer = MemoryWriter(load_failures=10**6)
    h = harness(filled_log(), writer=writer)
    await h.runner.start()
    hold = asyncio.Event()
    rebalanced: list[asyncio.Task[None]] = []

    async def rebalance_awaiting_the_store() -> None:
        writer.load_failures, writer.load_hold = 0, hold
        rebalanced.append(asyncio.create_task(h.consumer.rebalance({P0, P1})))
        await until(lambda: h.consumer.assignment() == {P0, P1} and not h.consumer.paused(),
                    "the new assignment")

    h.consumer.during_next_fetch(rebalance_awaiting_the_store, read_first=False)
    assert await h.runner.step() == 0
    assert h.consumer.paused() == {P0, P1}  # held back: the callback has not seeked yet
    hold.set()
    await rebalanced[0]
    assert not h.consumer.paused()
    assert await h.runner.run_until_caught_up(timeout_s=5) == 10
    await h.runner.stop()


@pytest.mark.parametrize("store_answers", [True, False])
async def test_an_assignment_answered_after_the_runner_stopped_is_dropped_quietly(
        harness: Callable[..., Harness], store_answers: bool) -> None:
    # Seen when a projections worker's start failed (Redis down): another runner was stopped
    # while its rebalance callback awaited the store, and aiokafka logged the callback's
    # "RuntimeError: runner not started" with a traceback.
    writer = MemoryWriter()
    h = harness(filled_log(), writer=writer)
    await h.runner.start()
    writer.load_hold = asyncio.Event()
    callback = asyncio.create_task(h.runner._on_assigned({P0}))
    await asyncio.sleep(0)  # the callback now waits for the store
    await h.runner.stop()
    if not store_answers:
        writer.load_failures = 10**6  # its checkpoints are then unavailable
    writer.load_hold.set()
    await asyncio.wait_for(callback, 5)
