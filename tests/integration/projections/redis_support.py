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
from schemas.analysis_events import (
    AnalysisCompleted,
    AnalysisCompletedPayload,
    AnalysisFailed,
    AnalysisFailedPayload,
    AnalysisStarted,
    AnalysisStartedPayload,
)
from schemas.codec import AnyEvent
from schemas.envelope import file_id_for
from schemas.file_events import (
    FileDeleted,
    FileDeletedPayload,
    FileDiscovered,
    FileDiscoveredPayload,
    FileInfo,
)
from tests.unit.schemas.samples import FEATURES

T0 = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)
ROOT = "/music"


def _file_events(cid: str, i: int, t: datetime) -> Iterator[AnyEvent]:
    """One file's life in a batch; every 20th file fails transiently and succeeds on retry,
    every 10th fails, every 50th has a skewed late "started", every 97th is deleted."""
    rel = f"{cid}/{i:06d}.mp3"
    fid = file_id_for(ROOT, rel)
    path = f"{ROOT}/{rel}"
    info = FileInfo(path=path, library_root=ROOT, relative_path=rel, size=1000 + i, mtime=1.0,
                    content_hash=f"{i:032x}", format="mp3")
    env: dict[str, Any] = {"file_id": fid, "correlation_id": cid}
    ms = timedelta(milliseconds=1)
    yield FileDiscovered.create(**env, occurred_at=t, payload=FileDiscoveredPayload(file=info))
    started = AnalysisStartedPayload(path=path, content_hash=info.content_hash, worker="w1")
    yield AnalysisStarted.create(**env, occurred_at=t + 5 * ms, payload=started)
    fail = AnalysisFailedPayload(path=path, content_hash=info.content_hash, reason="corrupt",
                                 message="bad frame", attempts=1, transient=i % 20 == 7)
    ok = AnalysisCompletedPayload(analysis_id=f"an-{cid}-{i}", path=path,
                                  content_hash=info.content_hash, features=FEATURES,
                                  processing_ms=12.0)
    if i % 20 == 7:
        yield AnalysisFailed.create(**env, occurred_at=t + 9 * ms, payload=fail)
        yield AnalysisStarted.create(**env, occurred_at=t + 10 * ms, payload=started)
        yield AnalysisCompleted.create(**env, occurred_at=t + 20 * ms, payload=ok)
    elif i % 10 == 3:
        yield AnalysisFailed.create(**env, occurred_at=t + 9 * ms, payload=fail)
    else:
        yield AnalysisCompleted.create(**env, occurred_at=t + 9 * ms, payload=ok)
    if i % 50 == 11:  # an agent with a fast clock reports "started" after the fact
        yield AnalysisStarted.create(**env, occurred_at=t + 60 * ms, payload=started)
    if i % 97 == 5:
        yield FileDeleted.create(**env, occurred_at=t + 70 * ms, payload=FileDeletedPayload(
            path=path, library_root=ROOT, relative_path=rel))


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
    """Reference model: status counts per batch from the pure merge of all events."""
    out: dict[str, Counter[str]] = {}
    for row in reduce_claims(claims(events)).files:
        out.setdefault(row.correlation_id, Counter())[row.status] += 1
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
