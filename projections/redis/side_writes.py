"""Redis writes made by roles other than the progress projection: the publisher's expected
totals and the analysis role's consumer lag.

They share the progress tables' key layout (projections/redis/keys.py) so `tracktion
progress` reads them next to the projected counters, but they do not come from events:
a projection reset keeps them and no replay restores them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from redis.asyncio import Redis

from projections.redis import keys

LagRow = tuple[str, int, int, int]  # topic, partition, end_offset, position


async def record_expected_total(redis: Redis, prefix: str, correlation_id: str, n: int) -> None:
    """Called by the publisher before sending a batch, so progress shows "x of N" early.

    The batch is listed right away (ZADD NX with the wall clock); the projection later replaces
    that score with the batch's first event time.
    """
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(keys.expected(prefix, correlation_id), n)
        pipe.zadd(keys.batches(prefix), {correlation_id: time.time()}, nx=True)
        pipe.publish(keys.channel(prefix, correlation_id), correlation_id)
        await pipe.execute()


async def record_lag(redis: Redis, prefix: str, group: str, rows: Iterable[LagRow],
                     at: float | None = None) -> None:
    """Store consumer lag (queue depth) per topic-partition of a consumer group.

    `end_offset` is the partition's high watermark, `position` the next offset the group will
    read; lag is their difference. No TTL: a stalled consumer's last lag is what one wants to
    see; `updated_at` tells how old it is.
    """
    stamp = time.time() if at is None else at
    async with redis.pipeline(transaction=False) as pipe:
        for topic, partition, end_offset, position in rows:
            pipe.hset(keys.lag(prefix, group, topic, partition), mapping={
                "lag": max(0, end_offset - position), "end_offset": end_offset,
                "position": position, "updated_at": f"{stamp:.3f}",
            })
        await pipe.execute()
