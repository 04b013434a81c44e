"""Partition leaders and ISRs as the cluster's metadata reports them, read while a node may be
down, and the two waits the failure tests time: every partition a dead node led has a new
leader, and a restarted node is back in every ISR."""

from __future__ import annotations

import asyncio
import time

from infra.kafka_admin import PartitionState, partition_states
from infra.polling import Predicate, poll_until

Slot = tuple[str, int]
"""One partition: (topic, partition number)."""


async def partitions(bootstrap: str, topics: list[str]) -> dict[Slot, PartitionState] | None:
    """Every partition of `topics` as the cluster's metadata reports it; None on failure."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        # Bounded: while a node is down a request can go to it and hang.
        await asyncio.wait_for(admin.start(), timeout=5)
        described = await asyncio.wait_for(admin.describe_topics(topics), timeout=5)
    except Exception:
        return None
    finally:
        await admin.close()
    if any(d.get("error_code") for d in described):
        return None
    return {(d["topic"], p.partition): p for d in described for p in partition_states(d)}


async def _seconds_since(started: float, holds: Predicate, timeout_s: float,
                         interval_s: float) -> float | None:
    """Seconds from `started` (a monotonic time) until `holds`; None once `timeout_s` from
    `started` have passed. A clock started by the caller, so the figure includes what happened
    between the event timed (a kill, a restart) and the first poll."""
    left = timeout_s - (time.monotonic() - started)
    if await poll_until(holds, left, interval_s) is None:
        return None
    return time.monotonic() - started


async def led_elsewhere(bootstrap: str, topics: list[str], slots: set[Slot], dead: int, *,
                        timeout_s: float = 60, since: float | None = None) -> float | None:
    """Seconds until every partition in `slots` has a live leader other than `dead`, as
    `bootstrap` (the surviving nodes) reports it; None if not within `timeout_s`.

    Counted from `since` (a `time.monotonic()` reading, e.g. the kill) if given, else from now.
    """
    async def moved() -> bool:
        now = await partitions(bootstrap, topics)
        if not now:  # no answer (or an empty one) is not a new leader
            return False
        return all(now[s].leader not in (dead, -1) for s in slots)

    return await _seconds_since(time.monotonic() if since is None else since, moved,
                                timeout_s, 0.2)


async def in_every_isr(bootstrap: str, topics: list[str], node: int, *, timeout_s: float,
                       since: float | None = None) -> float | None:
    """Seconds until `node` is in the ISR of every partition of `topics`; None if not within
    `timeout_s`. Counted from `since` if given, else from now."""
    async def rejoined() -> bool:
        now = await partitions(bootstrap, topics)
        if not now:
            return False
        return all(node in p.isr for p in now.values())

    return await _seconds_since(time.monotonic() if since is None else since, rejoined,
                                timeout_s, 0.5)
