"""An in-memory RabbitMQ for the bridge: a connection and channel that deliver messages to
the consumer callback and record every ack and nack (single or `multiple`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Properties:
    headers: Mapping[str, Any] | None


@dataclass(frozen=True)
class Header:
    properties: Properties


@dataclass(frozen=True)
class Delivery:
    """The fields of an aiormq DeliveredMessage the bridge reads."""

    body: bytes
    delivery_tag: int
    header: Header


@dataclass(frozen=True)
class Settle:
    """One ack or nack frame as the bridge sent it."""

    kind: str  # "ack" | "nack"
    tag: int
    multiple: bool


@dataclass
class MemoryChannel:
    is_closed: bool = False
    prefetch: int | None = None
    declared: list[str] = field(default_factory=list)
    frames: list[Settle] = field(default_factory=list)
    unsettled: dict[int, Delivery] = field(default_factory=dict)
    acked: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    _consumer: Callable[[Any], Awaitable[None]] | None = None
    _tag: int = 0

    async def deliver(self, body: bytes, headers: Mapping[str, Any] | None = None) -> Delivery:
        """The broker hands the consumer one message (delivery tags count up per channel)."""
        assert self._consumer is not None, "nobody consumes"
        self._tag += 1
        message = Delivery(body, self._tag, Header(Properties(headers)))
        self.unsettled[self._tag] = message
        await self._consumer(message)
        return message

    async def basic_qos(self, prefetch_count: int) -> None:
        self.prefetch = prefetch_count

    async def exchange_declare(self, name: str, **_: Any) -> None:
        self.declared.append(f"exchange {name}")

    async def queue_declare(self, name: str, **_: Any) -> None:
        self.declared.append(f"queue {name}")

    async def queue_bind(self, queue: str, exchange: str, **_: Any) -> None:
        self.declared.append(f"bind {queue} {exchange}")

    async def basic_consume(self, queue: str, callback: Callable[[Any], Awaitable[None]],
                            no_ack: bool = False) -> None:
        assert not no_ack, "the bridge must ack by hand"
        self._consumer = callback

    def _settle(self, tag: int, multiple: bool, into: list[int]) -> None:
        tags = [t for t in self.unsettled if t <= tag] if multiple else [tag]
        for t in tags:
            if self.unsettled.pop(t, None) is None:
                raise AssertionError(f"delivery {t} settled twice")  # a channel error in AMQP
            into.append(t)

    async def basic_ack(self, tag: int, multiple: bool = False) -> None:
        self.frames.append(Settle("ack", tag, multiple))
        self._settle(tag, multiple, self.acked)

    async def basic_nack(self, tag: int, multiple: bool = False, requeue: bool = True) -> None:
        assert requeue, "the bridge never drops a message"
        self.frames.append(Settle("nack", tag, multiple))
        self._settle(tag, multiple, self.requeued)


@dataclass
class MemoryConnection:
    channel_: MemoryChannel = field(default_factory=MemoryChannel)
    is_closed: bool = False

    async def channel(self) -> MemoryChannel:
        return self.channel_

    async def close(self) -> None:
        # The broker requeues what was delivered and never settled.
        self.is_closed = self.channel_.is_closed = True
        self.channel_.requeued += sorted(self.channel_.unsettled)
        self.channel_.unsettled.clear()


@dataclass
class MemoryAmqp:
    """The broker: `connect` is the bridge's `amqp_connect`; each call opens a new connection."""

    connections: list[MemoryConnection] = field(default_factory=list)

    async def connect(self, url: str) -> MemoryConnection:
        self.connections.append(MemoryConnection())
        return self.connections[-1]

    @property
    def channel(self) -> MemoryChannel:
        return self.connections[-1].channel_
