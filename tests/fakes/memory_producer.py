"""An in-memory Kafka producer behind the handler's `Emit` seam, with acks under test control.

`emit` behaves like aiokafka's `send()`: it returns once the record is accepted, with a
future that resolves when the broker acknowledges it. With `auto_ack=False` the test decides
when (and whether) each record is acknowledged, so it can see what waits for what.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from schemas.codec import AnyEvent, decode


@dataclass
class Produced:
    """One accepted record and its delivery future (done once the broker acknowledged)."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    delivered: asyncio.Future[None]

    def event(self) -> AnyEvent:
        return decode(self.value)

    def header(self, name: str) -> str | None:
        return next((v.decode() for k, v in self.headers if k == name), None)


@dataclass
class MemoryProducer:
    """Records every `emit`; acks at once unless `auto_ack` is off. `refusals` are raised by
    the next sends (not accepted); `fail` loses an accepted record (its future errs)."""

    auto_ack: bool = True
    records: list[Produced] = field(default_factory=list)
    refusals: list[BaseException] = field(default_factory=list)
    accepted: asyncio.Event = field(default_factory=asyncio.Event)

    async def emit(self, topic: str, key: bytes | None, value: bytes,
                   headers: list[tuple[str, bytes]]) -> asyncio.Future[None]:
        if self.refusals:
            raise self.refusals.pop(0)
        delivered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.records.append(Produced(topic, key, value, list(headers), delivered))
        self.accepted.set()
        if self.auto_ack:
            delivered.set_result(None)
        return delivered

    def on(self, topic: str) -> list[Produced]:
        return [r for r in self.records if r.topic == topic]

    def ack(self, record: Produced) -> None:
        if not record.delivered.done():
            record.delivered.set_result(None)

    def fail(self, record: Produced, error: BaseException) -> None:
        record.delivered.set_exception(error)

    def ack_all(self) -> None:
        for record in self.records:
            self.ack(record)

    def pending(self) -> list[Produced]:
        return [r for r in self.records if not r.delivered.done()]
