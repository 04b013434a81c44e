"""Where published events go: straight to a Kafka lane, or to RabbitMQ for the bridge."""

from __future__ import annotations

import asyncio
from typing import Protocol

import aio_pika
from aiokafka import AIOKafkaProducer

from infra.amqp import Topology, declare
from schemas import headers as h
from schemas.codec import encode
from schemas.envelope import Event
from schemas.namespace import Namespace
from streams.publishing.priority import AMQP_PRIORITY

# Unconfirmed sends in flight before we wait: bounds memory, keeps the pipe full.
MAX_IN_FLIGHT = 2000
DEFAULT_MAX_EVENT_BYTES = 512 * 1024  # the MAX_EVENT_BYTES setting's default


class EventTooLarge(ValueError):
    """The encoded event exceeds MAX_EVENT_BYTES: Kafka would refuse it, so it is not sent."""


def encode_bounded(event: Event, max_bytes: int) -> bytes:
    body = encode(event)
    if len(body) > max_bytes:
        raise EventTooLarge(f"{event.event_type} is {len(body)} bytes encoded, above "
                            f"MAX_EVENT_BYTES={max_bytes}; not published")
    return body


class Sink(Protocol):
    async def send(self, event: Event, headers: dict[str, str]) -> None: ...

    async def flush(self) -> None: ...

    async def close(self) -> None: ...


def event_headers(event: Event, trace_headers: dict[str, str]) -> dict[str, str]:
    return {h.EVENT_ID: event.event_id, h.EVENT_TYPE: event.event_type,
            h.CORRELATION_ID: event.correlation_id, h.FILE_ID: event.file_id, **trace_headers}


class _Pending:
    def __init__(self) -> None:
        self.items: list[asyncio.Future[object]] = []

    async def add(self, fut: asyncio.Future[object]) -> None:
        self.items.append(fut)
        if len(self.items) >= MAX_IN_FLIGHT:
            await self.drain()

    async def drain(self) -> None:
        items, self.items = self.items, []
        if items:
            await asyncio.gather(*items)


class KafkaSink:
    def __init__(self, bootstrap: str, ns: Namespace,
                 max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._max_event_bytes = max_event_bytes
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                          enable_idempotence=True, linger_ms=5)
        self._ns = ns
        self._pending = _Pending()

    async def start(self) -> None:
        try:
            await self._producer.start()
        except BaseException:
            # A producer whose start failed (Kafka down) still holds its client: without
            # stop() it is reported as "Unclosed AIOKafkaProducer" at exit.
            await self._producer.stop()
            raise

    async def send(self, event: Event, headers: dict[str, str]) -> None:
        body = encode_bounded(event, self._max_event_bytes)
        fut = await self._producer.send(self._ns.lane_topic(event.priority), body,
                                        key=event.file_id.encode(),
                                        headers=h.kafka_headers(headers))
        await self._pending.add(fut)

    async def flush(self) -> None:
        await self._pending.drain()
        await self._producer.flush()

    async def close(self) -> None:
        await self._producer.stop()


class RabbitSink:
    def __init__(self, url: str, ns: Namespace,
                 max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._max_event_bytes = max_event_bytes
        self._url = url
        self._topology = Topology(ns)
        self._pending = _Pending()
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._exchange: aio_pika.abc.AbstractExchange | None = None

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(self._url)
        try:
            channel = await self._connection.channel(publisher_confirms=True)
            self._exchange, _ = await declare(channel, self._topology)
        except BaseException:
            await self.close()
            raise

    async def send(self, event: Event, headers: dict[str, str]) -> None:
        assert self._exchange is not None, "start() first"
        message = aio_pika.Message(
            encode_bounded(event, self._max_event_bytes), content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            priority=AMQP_PRIORITY[event.priority], message_id=event.event_id,
            correlation_id=event.correlation_id, headers=dict(headers))
        key = self._topology.routing_key(event.event_type, event.priority)
        confirm = asyncio.ensure_future(self._exchange.publish(message, routing_key=key))
        await self._pending.add(confirm)  # type: ignore[arg-type]

    async def flush(self) -> None:
        await self._pending.drain()

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
