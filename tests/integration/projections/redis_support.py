"""Helpers for the Redis progress tests: synthetic batches, feeding a writer, key dumps."""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from projections.base import Checkpoints, Positioned
from projections.redis.apply import RedisProgressProjector, claims, reduce_claims
from projections.redis.keys import glob_escape
from projections.redis.writer import RedisProgressWriter
from schemas.codec import AnyEvent
from schemas.status import BATCH_COUNTER
from tests import builders as build
from tests.builders import file_info
from tests.unit.schemas.samples import FEATURES

T0 = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)


def _file_events(cid: str, i: int, t: datetime) -> Iterator[AnyEvent]:
    """One file's life in a batch; every 20th file fails transiently and succeeds on retry,
    every 10th fails, every 50th has a skewed late "started", every 97th is deleted."""
    info = file_info(f"{cid}/{i:06d}.mp3", size=1000 + i, content_hash=f"{i:032x}")
    ms = timedelta(milliseconds=1)

    def started(at: datetime) -> AnyEvent:
        return build.started(info, worker="w1", correlation_id=cid, occurred_at=at)

    def failed(at: datetime) -> AnyEvent:
        return build.failed(info, message="bad frame", transient=i % 20 == 7,
                            correlation_id=cid, occurred_at=at)

    def completed(at: datetime) -> AnyEvent:
        return build.completed(info, FEATURES, analysis_id=f"an-{cid}-{i}", processing_ms=12.0,
                               correlation_id=cid, occurred_at=at)

    yield build.discovered(info, correlation_id=cid, occurred_at=t)
    yield started(t + 5 * ms)
    if i % 20 == 7:
        yield failed(t + 9 * ms)
        yield started(t + 10 * ms)
        yield completed(t + 20 * ms)
    elif i % 10 == 3:
        yield failed(t + 9 * ms)
    else:
        yield completed(t + 9 * ms)
    if i % 50 == 11:  # an agent with a fast clock reports "started" after the fact
        yield started(t + 60 * ms)
    if i % 97 == 5:
        yield build.deleted(info, correlation_id=cid, occurred_at=t + 70 * ms)


def batch_events(cid: str, n_files: int, t0: datetime = T0) -> list[AnyEvent]:
    return [e for i in range(n_files)
            for e in _file_events(cid, i, t0 + timedelta(milliseconds=3 * i))]


def position(events: Sequence[AnyEvent], partitions: int = 4,
             topic: str = "test.redis") -> list[Positioned]:
    """Place events as Kafka would: partition by file id, offsets increasing per partition."""
    nxt = [0] * partitions
    out = []
    for e in events:
        p = zlib.crc32(e.file_id.encode()) % partitions
        out.append(Positioned(e, topic, p, nxt[p]))
        nxt[p] += 1
    return out


def checkpoints_of(batch: Sequence[Positioned]) -> Checkpoints:
    out: Checkpoints = {}
    for p in batch:
        key = (p.topic, p.partition)
        out[key] = max(out.get(key, -1), p.offset)
    return out


async def feed(writer: RedisProgressWriter, items: Sequence[Positioned],
               batch_size: int = 500) -> None:
    projector = RedisProgressProjector()
    for start in range(0, len(items), batch_size):
        batch = items[start:start + batch_size]
        await writer.write(projector.name, projector.apply(batch), checkpoints_of(batch))


def expected_counts(events: Sequence[AnyEvent]) -> dict[str, Counter[str]]:
    """Reference model: the batch counters (files per status, by counter name) per batch from
    the pure merge of all events."""
    out: dict[str, Counter[str]] = {}
    for row in reduce_claims(claims(events)).files:
        out.setdefault(row.correlation_id, Counter())[BATCH_COUNTER[row.status]] += 1
    return out


def counts_from_hash(fields: dict[str, str]) -> Counter[str]:
    return Counter({k: int(fields[k]) for k in
                    ("queued", "in_progress", "succeeded", "failed", "removed")
                    if int(fields.get(k, 0))})


async def dump(redis: Redis, prefix: str, skip: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
    """Every key under the prefix with its full value, sorted, prefix stripped."""
    out = []
    async for raw in redis.scan_iter(match=glob_escape(prefix) + "*", count=1000):
        key = raw if isinstance(raw, str) else raw.decode()
        name = key[len(prefix):]
        if name.startswith(skip):
            continue
        kind = await redis.type(key)
        value: Any
        if kind == "hash":
            value = sorted((await redis.hgetall(key)).items())
        elif kind == "zset":
            value = await redis.zrange(key, 0, -1, withscores=True)
        elif kind == "string":
            value = await redis.get(key)
        elif kind == "set":
            value = sorted(await redis.smembers(key))
        else:
            value = await redis.lrange(key, 0, -1)
        out.append((name, (kind, value)))
    return sorted(out)
