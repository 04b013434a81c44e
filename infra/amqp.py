"""RabbitMQ topology: the exchange producers publish to and the bridge's priority queue."""

from __future__ import annotations

from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

MAX_PRIORITY = 10


@dataclass(frozen=True)
class Topology:
    """Names are derived from one prefix so tests and benchmarks get isolated copies."""

    prefix: str = "tracktion"

    @property
    def exchange(self) -> str:
        return f"{self.prefix}.events"

    @property
    def queue(self) -> str:
        return f"{self.prefix}.bridge"

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
