"""Batch progress and consumer lag from the Redis progress tables of one namespace, and the
change notifications the projection publishes on every write (what live views wait on).

One client for the reader's lifetime, like TrackReads and GraphReads.
"""

from __future__ import annotations

from collections.abc import Callable

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from infra.settings import Settings
from projections.reads.closing import Closing
from projections.redis import keys
from projections.redis.progress import (
    BatchProgress,
    PartitionLag,
    list_batches,
    read_batch,
    read_file_states,
    read_lag,
    wait_for_batch,
)
from projections.redis.writer import connect


class ProgressReads(Closing):
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis, self.prefix = redis, prefix

    @classmethod
    def open(cls, settings: Settings, prefix: str) -> ProgressReads:
        """A reader with its own client for key prefix `prefix` (e.g. "tracktion:")."""
        return cls(connect(settings.redis_url), prefix)

    async def close(self) -> None:
        await self.redis.aclose()

    async def batches(self, limit: int = 20) -> list[BatchProgress]:
        """The most recently started batches first."""
        return await list_batches(self.redis, self.prefix, limit)

    async def batch(self, cid: str) -> BatchProgress | None:
        """One batch's progress; None while nothing is known of it (not an error: a batch
        just published has no row until its first event is projected)."""
        return await read_batch(self.redis, self.prefix, cid)

    async def wait(self, cid: str, timeout: float | None = None,
                   on_update: Callable[[BatchProgress], object] | None = None) -> BatchProgress:
        """Batch `cid`'s progress once it is done, calling `on_update` on every change;
        TimeoutError after `timeout` s (projections/redis/progress.py wait_for_batch)."""
        return await wait_for_batch(self.redis, self.prefix, cid, timeout, on_update)

    async def file_states(self, cid: str, limit: int) -> list[tuple[str, str]]:
        """Up to `limit` (file_id, status) pairs of batch `cid`; the statuses are
        schemas/status.py TrackStatus words (entries in the former batch words read as today's)."""
        return await read_file_states(self.redis, self.prefix, cid, limit)

    async def lag(self, group: str | None = None) -> list[PartitionLag]:
        return await read_lag(self.redis, self.prefix, group)

    async def changes(self, cid: str | None) -> PubSub:
        """A subscription to the change messages of batch `cid` (of every batch if None).

        Subscribe before the first read so no change falls between the two; the caller
        closes it.
        """
        pubsub = self.redis.pubsub()
        if cid is None:
            await pubsub.psubscribe(keys.glob_escape(keys.channel(self.prefix, "")) + "*")
        else:
            await pubsub.subscribe(keys.channel(self.prefix, cid))
        return pubsub
