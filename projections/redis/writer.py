"""I/O part of the Redis progress projection: runs the Lua script with intents and checkpoints.
(What other roles write next to it, expected totals and consumer lag: side_writes.py.)

A call's writes and the checkpoint that covers them happen in one script invocation, which
Redis executes without interleaving. Large batches are split into several calls; only the last
carries the checkpoint, so a crash between calls leaves rows without their checkpoint, and the
redelivered events are then absorbed by the script's last-writer-wins merge.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from redis.asyncio import Redis

from projections.base import Checkpoints, ProjectionSpec
from projections.redis import keys
from projections.redis.apply import (
    CODE,
    BatchTimes,
    FileStatus,
    ProgressIntents,
    RedisProgressProjector,
)
from projections.redis.script import PROGRESS_LUA

DEFAULT_CHUNK_ROWS = 2000  # ~10k ARGV values: keeps each call (and Redis' pause) to a few ms


def connect(url: str) -> Redis:
    """A client the projection and the read side both accept (responses decoded to str)."""
    return Redis.from_url(url, decode_responses=True)


async def read_checkpoints(redis: Redis, prefix: str, projection: str) -> Checkpoints:
    """A projection's checkpoints kept in Redis: one hash, field "topic:partition"."""
    raw: dict[Any, Any] = await redis.hgetall(keys.checkpoint(prefix, projection))
    out: Checkpoints = {}
    for field, offset in raw.items():
        topic, _, partition = keys.text(field).rpartition(":")
        out[(topic, int(partition))] = int(keys.text(offset))
    return out


def progress_spec(redis_url: str,
                  prefix: str = keys.DEFAULT_PREFIX) -> ProjectionSpec[ProgressIntents]:
    """What a ProjectionRunner needs to run this projection (it consumes the file lanes and
    the analysis topic)."""
    return ProjectionSpec(RedisProgressProjector(), RedisProgressWriter(connect(redis_url), prefix),
                          "redis")


def _file_args(rows: Sequence[FileStatus]) -> list[str]:
    out: list[str] = []
    for r in rows:
        out += [r.correlation_id, r.file_id, CODE[r.status], str(r.at_us), r.event_id]
    return out


def _batch_args(rows: Sequence[BatchTimes]) -> list[str]:
    out: list[str] = []
    for b in rows:
        done = "" if b.done_at_us is None else str(b.done_at_us)
        out += [b.correlation_id, str(b.first_at_us), str(b.last_at_us), done,
                f"{b.first_at_us / 1e6:.6f}"]
    return out


def _checkpoint_args(checkpoints: Checkpoints) -> list[str]:
    out: list[str] = []
    for (topic, partition), offset in sorted(checkpoints.items()):
        out += [f"{topic}:{partition}", str(offset)]
    return out


class RedisProgressWriter:
    """Writer for the "redis" projection: idempotent progress counters via one Lua script."""

    def __init__(self, redis: Redis, prefix: str = keys.DEFAULT_PREFIX,
                 chunk_rows: int = DEFAULT_CHUNK_ROWS) -> None:
        self._redis = redis
        self.prefix = prefix
        self._chunk_rows = max(1, chunk_rows)
        self._script = redis.register_script(PROGRESS_LUA)

    async def setup(self) -> None:
        """Load the script so the first write is an EVALSHA (redis-py reloads on NOSCRIPT)."""
        await self._redis.script_load(PROGRESS_LUA)

    async def load_checkpoints(self, projection: str) -> Checkpoints:
        return await read_checkpoints(self._redis, self.prefix, projection)

    async def write(self, projection: str, intents: ProgressIntents,
                    checkpoints: Checkpoints) -> None:
        files = intents.files
        starts = range(0, len(files), self._chunk_rows) if files else range(1)
        last = starts[-1]
        for start in starts:
            chunk = files[start:start + self._chunk_rows]
            await self._call(projection, chunk,
                             intents.batches if start == 0 else (),
                             checkpoints if start == last else {})

    async def _call(self, projection: str, files: Sequence[FileStatus],
                    batches: Sequence[BatchTimes], checkpoints: Checkpoints) -> list[int]:
        args = [self.prefix, projection, str(len(files)), str(len(batches)),
                str(len(checkpoints)), *_file_args(files), *_batch_args(batches),
                *_checkpoint_args(checkpoints)]
        result: list[int] = await self._script(keys=[], args=args)
        return result

    async def reset(self, projection: str) -> None:
        """Delete this projection's read model and checkpoint. Publisher-recorded expected
        totals and lag gauges are kept: they do not come from events, so no replay restores
        them."""
        derived = (self.prefix + "batch", self.prefix + "files:")  # "batch" covers "batches"

        await delete_prefix(self._redis, self.prefix, lambda key: key.startswith(derived))
        await self._redis.delete(keys.checkpoint(self.prefix, projection))

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()


async def delete_prefix(redis: Redis, prefix: str,
                        select: Callable[[str], bool] | None = None, count: int = 1000) -> int:
    """SCAN the keys under `prefix` and UNLINK them (only those `select` accepts, if given).

    SCAN instead of KEYS so a large keyspace never blocks the server; UNLINK frees memory in
    the background.
    """
    deleted = 0
    batch: list[str] = []
    async for raw in redis.scan_iter(match=keys.glob_escape(prefix) + "*", count=count):
        key = keys.text(raw)
        if select is None or select(key):
            batch.append(key)
        if len(batch) >= count:
            deleted += await redis.unlink(*batch)
            batch.clear()
    if batch:
        deleted += await redis.unlink(*batch)
    return deleted
