"""Stalled analysis: records waiting on a partition whose committed offset stopped moving.

Faust's own detector ("Stream stopped processing, or is slow", "Has not committed") measures
from the last event the stream took in, not from when work started waiting. After an idle
spell longer than its timeout, the first new event trips it at once: a healthy worker
logged a burst of error lines on the first publish of the morning. It is switched off
(streams/app.py) in favour of this one, which starts the clock when a partition first has
records waiting and restarts it whenever the committed offset advances.

Fed by the lag monitor's samples (topic, partition, end offset, committed offset).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from projections.redis.side_writes import LagRow


@dataclass
class _Waiting:
    committed: int
    since: float
    reported: bool = False


@dataclass(frozen=True)
class Stall:
    topic: str
    partition: int
    committed: int
    waiting: int  # records behind the end offset
    seconds: float  # since the committed offset last moved while records waited


@dataclass(frozen=True)
class Verdict:
    stalled: list[Stall]  # newly stalled since the last sample (report each once)
    recovered: list[tuple[str, int]]  # were reported, now moving or caught up
    stalled_now: int  # partitions stalled at this sample (the gauge)


class StallDetector:
    """Pure: decides from successive lag samples; the caller logs and sets metrics."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._waiting: dict[tuple[str, int], _Waiting] = {}

    def observe(self, rows: Iterable[LagRow], now: float) -> Verdict:
        stalled: list[Stall] = []
        recovered: list[tuple[str, int]] = []
        seen: set[tuple[str, int]] = set()
        for topic, partition, end, committed in rows:
            key = (topic, partition)
            seen.add(key)
            state = self._waiting.get(key)
            if committed >= end or (state is not None and committed != state.committed):
                if state is not None and state.reported:
                    recovered.append(key)
                if committed >= end:
                    self._waiting.pop(key, None)
                    continue
                state = None
            if state is None:  # records wait from now on (or again, after progress)
                self._waiting[key] = _Waiting(committed, now)
                continue
            if not state.reported and now - state.since >= self.timeout_s:
                state.reported = True
                stalled.append(Stall(topic, partition, committed, end - committed,
                                     now - state.since))
        for gone in set(self._waiting) - seen:  # revoked or deleted partitions
            del self._waiting[gone]
        return Verdict(stalled, recovered,
                       sum(1 for s in self._waiting.values() if s.reported))
