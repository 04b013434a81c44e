"""An in-memory projection store: the latest event per file, checkpoints, and fault controls.

Its read model is deliberately the simplest last-writer-wins register (by `stamp`), so the
writer contract suite can hold it to the same four properties as the real stores, and the
runner's tests can make it slow, failing or unreachable on cue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from projections.base import Checkpoints, Positioned, Stamp, stamp


@dataclass(frozen=True, order=True)
class Latest:
    """One intent: a file's newest event as far as one batch knows."""

    file_id: str
    stamp: Stamp
    event_type: str


class LatestEventProjector:
    """Pure: the newest event per file of a batch."""

    def __init__(self, name: str = "memory") -> None:
        self.name = name

    def apply(self, batch: Sequence[Positioned]) -> list[Latest]:
        newest: dict[str, Latest] = {}
        for item in batch:
            event = item.event
            row = Latest(event.file_id, stamp(event), event.event_type)
            if event.file_id not in newest or newest[event.file_id].stamp < row.stamp:
                newest[event.file_id] = row
        return sorted(newest.values())


@dataclass(frozen=True)
class Write:
    """One committed write: what the store took in one atomic step."""

    projection: str
    intents: tuple[Latest, ...]
    checkpoints: Checkpoints


@dataclass
class MemoryWriter:
    """Writer[list[Latest]]. Faults: `failures` are raised by the next attempts, one each;
    while `hold` is set-able and unset, a write waits in flight (a slow store);
    `load_failures` make that many checkpoint loads fail."""

    state: dict[str, dict[str, Latest]] = field(default_factory=dict)
    positions: dict[str, Checkpoints] = field(default_factory=dict)
    writes: list[Write] = field(default_factory=list)
    failures: list[BaseException] = field(default_factory=list)
    load_failures: int = 0
    #: while set-able and unset, a checkpoint load waits (a slow store during a rebalance)
    load_hold: asyncio.Event | None = None
    hold: asyncio.Event | None = None
    #: called with the attempt number as each write starts (tests snapshot the runner there)
    on_attempt: Callable[[int], None] | None = None
    attempts: int = 0
    in_flight: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False

    async def setup(self) -> None:
        self.closed = False

    async def load_checkpoints(self, projection: str) -> Checkpoints:
        if self.load_hold is not None:
            await self.load_hold.wait()
        if self.load_failures > 0:
            self.load_failures -= 1
            raise ConnectionError("memory store unreachable")
        return dict(self.positions.get(projection, {}))

    async def write(self, projection: str, intents: list[Latest],
                    checkpoints: Checkpoints) -> None:
        self.attempts += 1
        if self.on_attempt is not None:
            self.on_attempt(self.attempts)
        self.in_flight.set()
        try:
            if self.hold is not None:
                await self.hold.wait()
            if self.failures:
                raise self.failures.pop(0)
            self._apply(projection, intents, checkpoints)
        finally:
            self.in_flight.clear()

    def _apply(self, projection: str, intents: Sequence[Latest],
               checkpoints: Checkpoints) -> None:
        # No await in here: rows and checkpoints land together, as one transaction would.
        rows = self.state.setdefault(projection, {})
        for row in intents:
            if row.file_id not in rows or rows[row.file_id].stamp < row.stamp:
                rows[row.file_id] = row
        stored = self.positions.setdefault(projection, {})
        for key, offset in checkpoints.items():
            stored[key] = max(stored.get(key, -1), offset)  # never backwards
        self.writes.append(Write(projection, tuple(intents), dict(checkpoints)))

    async def reset(self, projection: str) -> None:
        self.state.pop(projection, None)
        self.positions.pop(projection, None)

    async def ping(self) -> None:
        if self.failures:
            raise ConnectionError("memory store unreachable")

    async def close(self) -> None:
        self.closed = True

    def rows(self, projection: str) -> list[Latest]:
        """The read model of `projection`, sorted (checkpoints are positions, not state)."""
        return sorted(self.state.get(projection, {}).values())
