"""Runs one projection: a Kafka consumer group of its own feeding batches through the pure
projector into the writer, behind a circuit breaker, with positions kept in the store.

Flow of one step: getmany -> decode (skip poison, still advance) -> drop what the store
already has -> apply -> write intents + checkpoints atomically -> commit Kafka offsets (only
so that lag shows in Kafka tools; on assignment the runner seeks from the store's
checkpoints, never from Kafka's). A failed write pauses the partitions and keeps the batch in
memory; the same batch is retried when the breaker lets a trial call through.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

import structlog
from aiobreaker import CircuitBreakerError
from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from infra.settings import Settings
from projections import positions
from projections.base import Checkpoints, ProjectionSpec
from projections.batching import Batch, advance, decode_records, without_partitions
from projections.breaker import Breaker, BreakerConfig, breaker_for
from projections.consumer import Consumer, ConsumerFactory, kafka_consumer
from projections.metrics import (
    PROJECTION_EVENTS_APPLIED,
    PROJECTION_EVENTS_SKIPPED,
    PROJECTION_LAG,
    PROJECTION_WRITE_FAILURES,
)
from projections.tracing import record_write_spans, traced_headers

I = TypeVar("I")  # noqa: E741 - the intents type of the projection
log = structlog.get_logger("projections.runner")


class CheckpointsUnavailable(RuntimeError):
    """The store's checkpoints could not be read within the deadline."""


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: ProjectionRunner[Any]) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._runner._on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self._runner._on_assigned(assigned)


class ProjectionRunner(Generic[I]):
    """Consume `topics` into `spec`'s writer until stopped (`run`) or caught up."""

    def __init__(self, spec: ProjectionSpec[I], settings: Settings, topics: list[str],
                 group_id: str | None = None, batch_size: int = 500,
                 batch_timeout_ms: int = 200, breaker: BreakerConfig | None = None,
                 checkpoint_load_timeout_s: float = 10.0,
                 consumer_factory: ConsumerFactory = kafka_consumer) -> None:
        self.spec = spec
        self.name = spec.projector.name
        self.topics = list(topics)
        from schemas.namespace import LIVE  # the live namespace's group unless told otherwise

        self.group_id = group_id or LIVE.projection_group(self.name)
        self.batch_size = batch_size
        self.batch_timeout_ms = batch_timeout_ms
        self.breaker: Breaker = breaker_for(spec.dependency, breaker)
        self.applied = 0
        self.skipped = 0
        self.write_failures = 0  # failed or timed-out batch writes (each retried)
        # Bounds the checkpoint load inside the rebalance callback: past it the partitions
        # stay paused and `step()` keeps retrying, so the callback always returns.
        self.checkpoint_load_timeout_s = checkpoint_load_timeout_s
        #: why the last checkpoint load failed, while assigned partitions wait for it
        self.checkpoints_error: str | None = None
        self._unseeked: set[TopicPartition] = set()
        self._settings = settings
        self._checkpoints: Checkpoints = {}
        self._pending: Batch | None = None
        self._write_lock = asyncio.Lock()  # a revocation waits for the write in flight
        # aiokafka starts fetching as soon as partitions are assigned, before our callback
        # has seeked them to the store's checkpoints: fetch only once it has, and drop what
        # was fetched across a rebalance (it is fetched again from the right place).
        self._settled = asyncio.Event()
        self._generation = 0
        self._stopping = asyncio.Event()
        self._closed = asyncio.Event()
        self._running = False
        self._consumer_factory = consumer_factory
        self._consumer: Consumer | None = None
        self._trace_headers: dict[tuple[str, int, int], Any] = {}
        #: exclusive offset bound per partition for point-in-time rebuilds (replay --to-offset)
        self.stop_before: int | None = None

    @property
    def state(self) -> str:
        """The dependency's circuit breaker state: closed, open or half_open."""
        return self.breaker.state

    @property
    def consumer(self) -> Consumer:
        if self._consumer is None:
            raise RuntimeError("runner not started")
        return self._consumer

    async def start(self) -> None:
        """Prepare the store, then join the group; idempotent."""
        if self._consumer is not None:
            return
        await self.spec.writer.setup()
        consumer = self._consumer_factory(self._settings, self.group_id)
        consumer.subscribe(self.topics, listener=_Rebalance(self))
        # Published before start(): the group join runs in the background and can call
        # _on_assigned before start() returns. Had that callback found no consumer, the
        # partitions would keep their committed Kafka offsets instead of the store's
        # checkpoints, and a replay into an empty store would have skipped everything.
        self._consumer = consumer
        try:
            await consumer.start()
        except BaseException:
            self._consumer = None
            raise

    async def run(self) -> None:
        """Consume until `stop()`. Cancelling it is a crash: nothing more is written or
        committed, the consumer leaves the group, and a restart resumes from the store.
        """
        self._running = True  # from here on, stop() waits for this loop to close
        try:
            await self.start()
            while not self._stopping.is_set():
                await self.step()
        finally:
            await self._close()

    async def stop(self) -> None:
        """Finish the batch being written (unless its store is down), commit, and close."""
        self._stopping.set()
        if self._running:
            await self._closed.wait()
        else:
            await self._close()

    async def run_until_caught_up(self, timeout_s: float | None = None) -> int:
        """Consume until every partition reaches the end offset sampled at the start.

        Returns the number of events applied; raises TimeoutError past `timeout_s`.
        """
        await self.start()
        ends = await positions.end_offsets(self.consumer, self.topics)
        if self.stop_before is not None:
            ends = {tp: min(end, self.stop_before) for tp, end in ends.items()}
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        before = self.applied
        # Not caught up before our seek: until then positions are Kafka's committed
        # offsets, which say nothing about what the store holds.
        while self._pending is not None or not self._settled.is_set() or \
                not await positions.reached(self.consumer, ends, self._checkpoints):
            if deadline is not None and time.monotonic() > deadline:
                behind = await positions.behind(self.consumer, ends, self._checkpoints)
                raise TimeoutError(f"{self.name} not caught up after {timeout_s}s: {behind}")
            if self._stopping.is_set():
                break
            await self.step()
        return self.applied - before

    async def step(self) -> int:
        """Fetch, apply and write one batch; returns the number of events applied."""
        if self._unseeked and not await self._seek_unseeked():
            return 0
        if not await self._wait_settled():
            return 0
        generation = self._generation
        fetched = await self.consumer.getmany(timeout_ms=self.batch_timeout_ms,
                                              max_records=self.batch_size)
        if generation != self._generation or not self._settled.is_set():
            self._give_back(fetched)
            return 0
        batch = decode_records(fetched.values(), self._checkpoints, self.stop_before)
        self._trace_headers = traced_headers(fetched.values())
        for bad in batch.skipped:
            self.skipped += 1
            PROJECTION_EVENTS_SKIPPED.labels(projection=self.name, reason=bad.reason).inc()
            log.warning("projection_record_skipped", projection=self.name, topic=bad.topic,
                        partition=bad.partition, offset=bad.offset, reason=bad.reason,
                        error=bad.message)
        if batch.is_empty():
            return 0
        self._pending = batch
        written = await self._write_pending()
        PROJECTION_LAG.labels(projection=self.name).set(
            positions.lag(self.consumer, self._checkpoints))
        return written

    def _give_back(self, fetched: Mapping[TopicPartition, Sequence[Any]]) -> None:
        """Undo a fetch that a rebalance overtook: its partitions resume where the store says.

        A rebalance that lands while getmany waits seeks the new assignment, and the fetch
        then reads from that seek: the positions have moved past records we are about to
        drop. Unless they are put back, that range of the partition is never projected.
        """
        owned = self.consumer.assignment()
        for tp, records in fetched.items():
            if records and tp in owned:
                self.consumer.seek(tp, self._checkpoints.get((tp.topic, tp.partition), -1) + 1)

    async def _wait_settled(self) -> bool:
        if not self._settled.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._settled.wait(), self.batch_timeout_ms / 1000)
        return self._settled.is_set()

    async def _write_pending(self) -> int:
        """Write the pending batch, retrying through the breaker until it succeeds or we stop.

        While retrying, the assigned partitions are paused so nothing new is fetched, and the
        Kafka offsets of the batch stay uncommitted.
        """
        paused = False
        written = 0
        try:
            while (batch := self._pending) is not None:
                if batch.is_empty():  # everything in it was revoked meanwhile
                    self._pending = None
                    break
                if await self._try_write(batch):
                    self._pending = None
                    written = len(batch.events)
                    break
                if not paused:
                    self.consumer.pause(*self.consumer.assignment())
                    paused = True
                if not await self._idle(self._retry_delay()):
                    break  # stopping: leave the batch unwritten and uncommitted
        finally:
            if paused and self._consumer is not None:
                self._consumer.resume(*self._consumer.assignment())
        return written

    async def _try_write(self, batch: Batch) -> bool:
        intents = self.spec.projector.apply(batch.events)  # a bug here should crash loudly
        async with self._write_lock:
            if batch is not self._pending:
                return False  # trimmed by a revocation while we waited for the lock
            started_ns = time.time_ns()
            try:
                await self.breaker.call(self._bounded_write, intents, dict(batch.checkpoints))
            except Exception as exc:
                self.write_failures += 1
                reason = ("breaker_open" if isinstance(exc, CircuitBreakerError)
                          else "timeout" if isinstance(exc, TimeoutError) else "error")
                PROJECTION_WRITE_FAILURES.labels(projection=self.name, reason=reason).inc()
                log.warning("projection_write_failed", projection=self.name,
                            dependency=self.spec.dependency, breaker=self.breaker.state,
                            events=len(batch.events), error=repr(exc))
                return False
            advance(self._checkpoints, batch.checkpoints)
            record_write_spans(self.name, batch.events, self._trace_headers, started_ns,
                               time.time_ns())
            self.applied += len(batch.events)
            PROJECTION_EVENTS_APPLIED.labels(projection=self.name).inc(len(batch.events))
            await self._commit(batch.checkpoints)
        return True

    async def _bounded_write(self, intents: I, checkpoints: Checkpoints) -> None:
        # wait_for cancels the write past the deadline: its transaction rolls back (or, if
        # the commit raced the cancel, holds a batch that a retry applies again harmlessly).
        await asyncio.wait_for(self.spec.writer.write(self.name, intents, checkpoints),
                               self._settings.projection_write_timeout)

    def _retry_delay(self) -> float:
        wait = self.breaker.seconds_until_trial()
        return wait if wait > 0 else self.breaker.config.retry_backoff_s

    async def _idle(self, seconds: float) -> bool:
        """Wait `seconds` while still polling the (paused) consumer, so the group keeps us.

        A paused consumer's getmany blocks for its timeout and returns nothing; records of a
        partition assigned mid-wait are given back by seeking to them. False if stopping.
        """
        deadline = time.monotonic() + seconds
        while not self._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            fetched = await self.consumer.getmany(timeout_ms=max(1, int(min(left, 1.0) * 1000)))
            for tp, records in fetched.items():
                self.consumer.seek(tp, records[0].offset)
                # Held back only while something will resume it: the write retry (its
                # `finally`) or a rebalance whose seek is still to come (`_seek`). A
                # partition its callback has already seeked fetches on: paused here, it
                # would stay paused for ever (seen while checkpoints were unavailable).
                if self._pending is not None or not self._settled.is_set():
                    self.consumer.pause(tp)
        return False

    async def _commit(self, checkpoints: Checkpoints) -> None:
        owned = self.consumer.assignment()
        offsets = {tp: off + 1 for (t, p), off in checkpoints.items()
                   if (tp := TopicPartition(t, p)) in owned}
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except KafkaError as exc:  # the store holds the truth; Kafka offsets are only for lag
            log.info("projection_commit_failed", projection=self.name, error=repr(exc))

    async def _on_revoked(self, revoked: set[TopicPartition]) -> None:
        self._settled.clear()
        gone = {(tp.topic, tp.partition) for tp in revoked}
        self._unseeked -= revoked
        async with self._write_lock:
            if self._pending is not None:
                self._pending = without_partitions(self._pending, gone)
            for key in gone:
                self._checkpoints.pop(key, None)

    async def _on_assigned(self, assigned: set[TopicPartition]) -> None:
        """Seek every new partition to just after the store's checkpoint (or the beginning).

        If the store cannot say within `checkpoint_load_timeout_s`, the callback returns
        anyway (a callback that never returns stalls this member's part in every later
        rebalance): the partitions stay paused, unseeked, and `step()` retries the load.
        """
        try:
            stored = await self._load_checkpoints()
        except CheckpointsUnavailable as exc:
            if self._consumer is None:
                return  # stopped while the store was asked (a role start that failed)
            self.consumer.pause(*assigned)
            self._unseeked |= assigned
            self.checkpoints_error = str(exc)
            log.error("projection_checkpoints_unavailable", projection=self.name,
                      error=str(exc), partitions=len(assigned))
            return
        except Exception:
            if self._stopping.is_set():
                return  # the load gave up because we stop: nothing to seek
            raise
        if self._consumer is None:
            return  # stopped meanwhile: there is nothing left to seek
        self._seek(assigned, stored)

    async def _seek_unseeked(self) -> bool:
        try:
            stored = await self._load_checkpoints()
        except CheckpointsUnavailable as exc:
            self.checkpoints_error = str(exc)
            log.error("projection_checkpoints_unavailable", projection=self.name,
                      error=str(exc), partitions=len(self._unseeked))
            await self._idle(self.batch_timeout_ms / 1000)  # keep our place in the group
            return False
        waiting = self._unseeked & self.consumer.assignment()
        self._unseeked.clear()
        if not waiting:  # all revoked meanwhile: the next assignment seeks its own
            return True
        self._seek(waiting, stored)  # resumes them unless a batch is pending
        return True

    def _seek(self, assigned: set[TopicPartition], stored: Checkpoints) -> None:
        consumer = self.consumer
        for tp in assigned:
            key = (tp.topic, tp.partition)
            if key in stored:
                self._checkpoints[key] = stored[key]
                consumer.seek(tp, stored[key] + 1)
            else:
                # Not seek_to_beginning(): awaiting its reset inside this callback can stall
                # the rebalance for the request timeout. Offset 0 below the log start is
                # reset to the earliest offset by auto_offset_reset="earliest".
                self._checkpoints.pop(key, None)
                consumer.seek(tp, 0)
            if self._pending is not None:
                consumer.pause(tp)
            else:  # held back until now: unseeked, or by `_idle` while the store was awaited
                consumer.resume(tp)
        self.checkpoints_error = None
        self._generation += 1
        self._settled.set()
        # Where each partition resumes, and what is held paused: what a stalled or skipped
        # partition is diagnosed from.
        log.info("projection_partitions_assigned", projection=self.name,
                 partitions=sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned),
                 from_offsets={f"{tp.topic}[{tp.partition}]": stored.get((tp.topic, tp.partition),
                                                                         -1) + 1
                               for tp in sorted(assigned)},
                 paused=sorted(f"{tp.topic}[{tp.partition}]" for tp in consumer.paused()),
                 pending=self._pending is not None)

    async def _load_checkpoints(self) -> Checkpoints:
        """The store's checkpoints, retried through the breaker up to the deadline."""
        deadline = time.monotonic() + self.checkpoint_load_timeout_s
        while True:
            try:
                return await self.breaker.call(self.spec.writer.load_checkpoints, self.name)
            except Exception as exc:
                if self._stopping.is_set():
                    raise
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CheckpointsUnavailable(
                        f"{self.name}: no checkpoints from {self.spec.dependency} within "
                        f"{self.checkpoint_load_timeout_s:g} s ({exc!r}); its partitions stay "
                        f"paused and the load is retried") from exc
                log.warning("projection_checkpoint_load_failed", projection=self.name,
                            breaker=self.breaker.state, error=repr(exc))
                await asyncio.sleep(min(self._retry_delay(), left))

    async def _close(self) -> None:
        consumer, self._consumer = self._consumer, None
        try:
            if consumer is not None:
                await consumer.stop()
            await self.spec.writer.close()
        finally:
            self._running = False
            self._closed.set()
