"""RabbitMQ topology: the exchange producers publish to and the bridge's priority queue."""

from __future__ import annotations

from dataclasses import dataclass

import aio_pika
import aiormq
import aiormq.abc
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

from schemas.namespace import LIVE, Namespace

MAX_PRIORITY = 10


@dataclass(frozen=True)
class Topology:
    """The exchange and queue of one namespace (its names derived there), so tests and
    benchmarks get isolated copies; `Topology()` is the live system's."""

    ns: Namespace = LIVE

    def __post_init__(self) -> None:
        # As Namespace does for its prefix: callers mypy does not check (tests, benchmarks)
        # passing a bare prefix fail here, not at the first declare.
        if not isinstance(self.ns, Namespace):
            raise TypeError(f"Topology takes a Namespace, not {type(self.ns).__name__}")

    @property
    def exchange(self) -> str:
        return self.ns.amqp_exchange

    @property
    def queue(self) -> str:
        return self.ns.amqp_queue

    @staticmethod
    def routing_key(event_type: str, priority: str) -> str:
        return f"file.{priority}.{event_type}"


async def declare(channel: AbstractChannel, topology: Topology) -> tuple[AbstractExchange,
                                                                         AbstractQueue]:
    """Declare (idempotently) a durable topic exchange and a durable priority queue bound to it."""
    exchange = await channel.declare_exchange(topology.exchange, aio_pika.ExchangeType.TOPIC,
                                              durable=True)
    queue = await channel.declare_queue(
        topology.queue, durable=True,
        arguments={"x-max-priority": MAX_PRIORITY, "x-queue-mode": "default"})
    await queue.bind(exchange, routing_key="file.#")
    return exchange, queue


async def declare_raw(channel: aiormq.abc.AbstractChannel, topology: Topology) -> None:
    """The same topology through aiormq, for the bridge's hot path (no per-message wrappers)."""
    await channel.exchange_declare(topology.exchange, exchange_type="topic", durable=True)
    await channel.queue_declare(topology.queue, durable=True,
                                arguments={"x-max-priority": MAX_PRIORITY,
                                           "x-queue-mode": "default"})
    await channel.queue_bind(topology.queue, topology.exchange, routing_key="file.#")
