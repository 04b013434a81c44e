"""The bridge process: drain the RabbitMQ priority queue into Kafka lanes, acking only after Kafka.

Guarantee: a RabbitMQ message is acknowledged only after Kafka has acknowledged its record
(acks=all, idempotent producer). Killing the bridge at any instant leaves unacked messages
in RabbitMQ, which redelivers them: duplicates in Kafka are possible, loss is not.
Duplicates carry the same `event_id` and are absorbed by the idempotent projections.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiormq
import aiormq.abc
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from opentelemetry import trace

from infra.amqp import Topology, declare_raw
from infra.logging import get_logger
from infra.metrics import BRIDGE_EVENTS, BRIDGE_SEND_STALLS, DEADLETTERS
from infra.telemetry import extract_from_mapping, inject, tracer
from schemas import headers as h
from schemas.namespace import LIVE, Namespace
from streams.bridge.partitioner import partitions_for
from streams.bridge.routing import DEFAULT_MAX_EVENT_BYTES, Route, excerpt_route, route

log = get_logger("bridge")
#: opens the AMQP connection (tests pass an in-memory one)
AmqpConnect = Callable[[str], Awaitable[aiormq.abc.AbstractConnection]]


def _permanent(error: BaseException | None) -> bool:
    """Kafka refused for good (retrying the same bytes cannot succeed), e.g. too large."""
    return isinstance(error, KafkaError) and not error.retriable


class Bridge:
    def __init__(self, rabbitmq_url: str, kafka_bootstrap: str, ns: Namespace = LIVE, *,
                 batch_size: int = 2000, linger_s: float = 0.02, prefetch: int = 8000,
                 max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
                 client_id: str = "tracktion-bridge",
                 producer_factory: Callable[[], AIOKafkaProducer] | None = None,
                 amqp_connect: AmqpConnect = aiormq.connect,
                 stall_report_s: float = 10.0) -> None:
        self._url = rabbitmq_url
        self._producer_factory = producer_factory
        self._amqp_connect = amqp_connect
        self._client_id = client_id
        self._topology = Topology(ns)
        self._ns = ns
        self._batch_size = batch_size
        self._linger_s = linger_s
        self._max_event_bytes = max_event_bytes
        self._prefetch = prefetch
        self._kafka_bootstrap = kafka_bootstrap
        self._producer: AIOKafkaProducer | None = None
        self._buffer: list[aiormq.abc.DeliveredMessage] = []
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        # Set while run() is not forwarding: stop() waits for it, and a bridge whose start()
        # failed (RabbitMQ down) never ran, so it starts set (stop() waited 30 s before).
        self._idle = asyncio.Event()
        self._idle.set()
        self._connection: aiormq.abc.AbstractConnection | None = None
        self._channel: aiormq.abc.AbstractChannel | None = None
        self.forwarded = 0
        self.deadlettered = 0
        self.send_failures = 0  # batches (or parts) Kafka did not take
        self.stall_reports = 0  # times a batch waited another `stall_report_s` for Kafka
        self._stall_report_s = stall_report_s
        self._partition_counts: dict[str, int] = {}
        self._spread = 0

    async def start(self) -> None:
        # aiokafka binds to the running loop, so the producer is created here, not in __init__.
        self._producer = self._new_producer()
        await self._producer.start()
        await self._connect()
        log.info("bridge_started", queue=self._topology.queue, prefetch=self._prefetch)

    async def _connect(self) -> None:
        # aiormq directly: aio-pika's per-message wrapper objects cost ~25% of the bridge's CPU.
        self._connection = await self._amqp_connect(self._url)
        self._channel = channel = await self._connection.channel()
        await channel.basic_qos(prefetch_count=self._prefetch)
        await declare_raw(channel, self._topology)
        await channel.basic_consume(self._topology.queue, self._on_message, no_ack=False)

    async def _drop_connection(self) -> None:
        """Close what is left of a broken connection; `run()` then connects again. Its
        unacked deliveries go back to the queue."""
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed:
            try:
                await connection.close()
            except Exception as exc:
                log.info("bridge_close_failed", error=repr(exc))

    async def _reconnect(self) -> None:
        """RabbitMQ went away: its unacked deliveries are requeued by the broker, so drop the
        buffer (acking those tags on a new channel would be wrong) and connect again."""
        await self._drop_connection()
        self._buffer.clear()
        delay = 0.5
        while not self._stopping.is_set():
            try:
                await self._connect()
                log.info("bridge_reconnected")
                return
            except Exception as exc:
                log.warning("bridge_reconnect_failed", error=repr(exc), retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 15.0)

    async def _on_message(self, message: aiormq.abc.DeliveredMessage) -> None:
        self._buffer.append(message)
        if len(self._buffer) >= self._batch_size:
            self._wake.set()

    async def run(self) -> None:
        """Forward batches until `stop()`; a batch is flushed when full or after the linger time."""
        self._idle.clear()
        try:
            while not self._stopping.is_set():
                if self._connection is None or self._connection.is_closed or \
                        self._channel is None or self._channel.is_closed:
                    await self._reconnect()
                    continue
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self._linger_s)
                except TimeoutError:
                    pass
                self._wake.clear()
                if self._buffer:
                    batch, self._buffer = self._buffer, []
                    await self._forward(batch)
        finally:
            self._idle.set()

    async def _forward(self, batch: list[aiormq.abc.DeliveredMessage]) -> None:
        started = time.perf_counter()
        routes = [self._route_traced(message) for message in batch]
        try:
            errors = await self._send(batch, routes)
            if any(_permanent(e) for e in errors):
                errors = await self._isolate(batch, routes, errors)
        except Exception as exc:  # before any record was handed over: the whole batch waits
            errors = [exc] * len(batch)
        failed = [e for e in errors if e is not None]
        if failed:
            self.send_failures += 1
            # What Kafka refused for now goes back to RabbitMQ; what it acked is acked, so a
            # retry never re-sends records Kafka already has.
            log.error("bridge_kafka_send_failed", error=str(failed[0]), batch=len(batch),
                      failed=len(failed))
            try:
                await self._settle_each(batch, errors)
            except Exception as exc:  # the channel died meanwhile: the broker requeues them
                log.warning("bridge_nack_failed", error=repr(exc), batch=len(batch))
                await self._drop_connection()
            self._count([r for r, e in zip(routes, errors, strict=True) if e is None])
            await asyncio.sleep(1.0)
            return
        try:
            await self._settle(batch[-1], ack=True)
        except Exception as exc:  # connection lost: the broker redelivers, Kafka dedups later
            log.warning("bridge_ack_failed", error=repr(exc), batch=len(batch))
            await self._drop_connection()
        self._count(routes)
        log.debug("bridge_batch", size=len(batch),
                  ms=round((time.perf_counter() - started) * 1e3, 1))

    async def _send(self, batch: list[aiormq.abc.DeliveredMessage],
                    routes: list[Route]) -> list[BaseException | None]:
        """Send the batch; per message, None once Kafka acked it, else its batch's error."""
        slots = await self._produce(batch, routes)
        results = await self._acknowledgements([fut for fut, _ in slots], len(batch))
        errors: list[BaseException | None] = [None] * len(batch)
        for (_, members), result in zip(slots, results, strict=True):
            if isinstance(result, BaseException):
                for i in members:
                    errors[i] = result
        return errors

    async def _acknowledgements(self, futures: list[asyncio.Future[Any]],
                                records: int) -> list[Any]:
        """Kafka's answer per partition batch, however long it takes, reported while it waits.

        The idempotent producer never expires a batch: while the cluster cannot take a write
        (brokers down, fewer in sync than min.insync.replicas) it retries for ever, so the
        wait would otherwise be silent. Nothing is acked in RabbitMQ meanwhile, so nothing is
        lost; an error line and `bridge_send_stalls_total` say that the pipeline is stuck.
        """
        gathered = asyncio.gather(*futures, return_exceptions=True)
        waited = 0.0
        while True:
            try:
                return await asyncio.wait_for(asyncio.shield(gathered), self._stall_report_s)
            except TimeoutError:
                waited += self._stall_report_s
                self.stall_reports += 1
                BRIDGE_SEND_STALLS.inc()
                log.error("bridge_kafka_send_stalled", waiting_s=round(waited, 1),
                          records=records, hint="Kafka is not acknowledging writes (brokers "
                          "down or under min.insync.replicas); the messages stay unacked "
                          "in RabbitMQ until it does")

    async def _isolate(self, batch: list[aiormq.abc.DeliveredMessage], routes: list[Route],
                       errors: list[BaseException | None]) -> list[BaseException | None]:
        """Kafka refused a partition batch for good (e.g. a record above its size limit):
        resend its records one by one, and dead-letter an excerpt of those refused alone.

        `routes` is updated in place for the dead-lettered ones. The producer is replaced
        first: a refused batch leaves a gap in its idempotence sequence for that partition.
        """
        out = list(errors)
        await self._renew_producer()
        for i, error in enumerate(errors):
            if not _permanent(error):
                continue
            (single,) = await self._send([batch[i]], [routes[i]])
            if not _permanent(single):
                out[i] = single
                continue
            await self._renew_producer()
            routes[i] = excerpt_route(batch[i].body, batch[i].header.properties.headers,
                                      self._ns, "kafka_refused",
                                      f"{type(single).__name__}: {single}")
            (out[i],) = await self._send([batch[i]], [routes[i]])
            log.warning("bridge_kafka_refused", error=repr(single), bytes=len(batch[i].body))
            if _permanent(out[i]):
                await self._renew_producer()
        return out

    async def _renew_producer(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
        self._producer = self._new_producer()
        await self._producer.start()

    def _new_producer(self) -> AIOKafkaProducer:
        if self._producer_factory is not None:
            return self._producer_factory()
        return AIOKafkaProducer(
            bootstrap_servers=self._kafka_bootstrap, client_id=self._client_id,
            acks="all", enable_idempotence=True,
            linger_ms=5, max_batch_size=512 * 1024)

    async def _produce(self, batch: list[aiormq.abc.DeliveredMessage], routes: list[Route],
                       ) -> list[tuple[asyncio.Future[Any], list[int]]]:
        """Append records straight into per-partition batches (one send per partition).

        Per-message `send()` costs a coroutine, a partitioner call and an accumulator lookup
        each; building the batches here keeps the bridge's per-message work small. Order
        within a partition is the delivery order, as with `send()`. Returns each batch's
        delivery future with the indices of the messages it holds.
        """
        assert self._producer is not None, "start() first"
        partitions = await self._partitions(routes)
        builders: dict[tuple[str, int], tuple[Any, list[int]]] = {}
        slots: list[tuple[asyncio.Future[Any], list[int]]] = []
        for i, (message, target, partition) in enumerate(
                zip(batch, routes, partitions, strict=True)):
            slot = (target.topic, partition)
            value = message.body if target.value is None else target.value
            if slot not in builders:
                builders[slot] = (self._producer.create_batch(), [])
            builder, members = builders[slot]
            if builder.append(key=target.key, value=value, timestamp=None,
                              headers=target.headers) is None:  # full: ship it, start anew
                slots.append((await self._producer.send_batch(builder, slot[0],
                                                              partition=partition), members))
                builder, members = builders[slot] = (self._producer.create_batch(), [])
                builder.append(key=target.key, value=value, timestamp=None,
                               headers=target.headers)
            members.append(i)
        for (topic, partition), (builder, members) in builders.items():
            slots.append((await self._producer.send_batch(builder, topic, partition=partition),
                          members))
        return slots

    async def _partitions(self, routes: list[Route]) -> list[int]:
        assert self._producer is not None
        out = [0] * len(routes)
        by_topic: dict[str, list[int]] = {}
        for i, target in enumerate(routes):
            by_topic.setdefault(target.topic, []).append(i)
        for topic, idx in by_topic.items():
            count = self._partition_counts.get(topic)
            if count is None:
                count = self._partition_counts[topic] = len(
                    await self._producer.partitions_for(topic))
            keyed = [i for i in idx if routes[i].key is not None]
            for i, partition in zip(keyed, partitions_for([routes[i].key or b"" for i in keyed],
                                                          count), strict=True):
                out[i] = partition
            for i in idx:
                if routes[i].key is None:  # dead letters have no key: spread them
                    self._spread = (self._spread + 1) % count
                    out[i] = self._spread
        return out

    async def _settle(self, last: aiormq.abc.DeliveredMessage, ack: bool) -> None:
        """Ack (or requeue) every delivery up to `last` in one frame: batches are in order."""
        assert self._channel is not None
        tag = last.delivery_tag
        assert tag is not None
        if ack:
            await self._channel.basic_ack(tag, multiple=True)
        else:
            await self._channel.basic_nack(tag, multiple=True, requeue=True)

    async def _settle_each(self, batch: list[aiormq.abc.DeliveredMessage],
                           errors: list[BaseException | None]) -> None:
        """Ack what Kafka holds, requeue the rest, one delivery at a time (rare path)."""
        assert self._channel is not None
        if all(e is not None for e in errors):
            await self._settle(batch[-1], ack=False)
            return
        for message, error in zip(batch, errors, strict=True):
            tag = message.delivery_tag
            assert tag is not None
            if error is None:
                await self._channel.basic_ack(tag)
            else:
                await self._channel.basic_nack(tag, requeue=True)

    def _route_traced(self, message: aiormq.abc.DeliveredMessage) -> Route:
        amqp_headers = message.header.properties.headers
        target = route(message.body, amqp_headers, self._ns, self._max_event_bytes)
        if not amqp_headers or h.TRACEPARENT not in amqp_headers:
            return target  # untraced producer: nothing to continue, skip the span cost
        parent = extract_from_mapping(amqp_headers)
        if not trace.get_current_span(parent).get_span_context().trace_flags.sampled:
            return target
        attrs = {k: v.decode() for k, v in target.headers
                 if k in (h.EVENT_ID, h.FILE_ID, h.CORRELATION_ID)}
        with tracer("tracktion.bridge").start_as_current_span(
                "bridge rabbitmq->kafka", context=parent, kind=trace.SpanKind.CONSUMER,
                attributes={**attrs, "messaging.destination": target.topic}):
            carried = inject()
        kept = [(k, v) for k, v in target.headers if k not in (h.TRACEPARENT, h.TRACESTATE)]
        return Route(target.topic, target.key, kept + h.kafka_headers(carried),
                     target.deadletter_reason, target.value)

    def _count(self, routes: list[Route]) -> None:
        for target in routes:
            if target.deadletter_reason is None:
                self.forwarded += 1
                BRIDGE_EVENTS.labels("forwarded").inc()
            else:
                self.deadlettered += 1
                BRIDGE_EVENTS.labels("deadletter").inc()
                DEADLETTERS.labels("bridge", target.deadletter_reason).inc()
                log.warning("bridge_deadletter", reason=target.deadletter_reason)

    async def stop(self) -> None:
        """Stop intake, forward what is buffered, flush Kafka, then close (graceful shutdown)."""
        self._stopping.set()
        self._wake.set()
        try:  # let the batch in flight finish, so its messages are acked exactly once
            await asyncio.wait_for(self._idle.wait(), timeout=30)
        except TimeoutError:
            log.warning("bridge_stop_timeout")
        if self._connection is not None:
            await self._connection.close()  # unacked prefetched messages return to the queue
        self._buffer.clear()
        if self._producer is not None:
            await self._producer.stop()
        log.info("bridge_stopped", forwarded=self.forwarded, deadlettered=self.deadlettered)
