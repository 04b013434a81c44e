"""Read side of the progress tables: batch progress with throughput and ETA, recent batches,
waiting for a batch to finish (pub/sub driven), and consumer lag per topic-partition.

Throughput and ETA are derived here, at read time, from counts and *event* times, so they
describe the pipeline (how fast agents finished files) and stay correct when the projection
replays history.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from projections.base import from_micros
from projections.redis import keys
from projections.redis.apply import CODE
from schemas.status import BATCH_COUNTER, parse_status


def _time(us: str | None) -> datetime | None:
    return None if us is None else from_micros(int(us))


@dataclass(frozen=True)
class BatchProgress:
    """Progress of one publish batch; `queued` includes files announced but not yet seen."""

    correlation_id: str
    total: int
    queued: int
    in_progress: int
    succeeded: int
    failed: int
    removed: int
    expected: int | None
    started_at: datetime | None
    finished_at: datetime | None
    last_event_at: datetime | None
    throughput_per_s: float | None
    eta_s: float | None
    done: bool

    def summary(self) -> str:
        """One line for people: how far the batch got."""
        return (f"{self.finished} of {self.expected or self.total} finished "
                f"({self.queued} queued, {self.in_progress} in progress, {self.failed} failed)")

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for name in ("started_at", "finished_at", "last_event_at"):
            value = out[name]
            out[name] = None if value is None else value.isoformat()
        return out


def progress_from_fields(cid: str, fields: Mapping[str, str],
                         expected: int | None) -> BatchProgress | None:
    """Pure: the batch hash (and the publisher's expected total) to a BatchProgress."""
    if not fields and expected is None:
        return None
    # The hash's counters are named as BatchProgress' fields (schemas/status.py BATCH_COUNTER).
    count = {k: int(fields.get(k, 0)) for k in ("files", *BATCH_COUNTER.values())}
    unseen = max(0, (expected or 0) - count["files"])
    queued = count["queued"] + unseen
    finished = count["succeeded"] + count["failed"]
    in_progress = count["in_progress"]
    total = queued + in_progress + finished
    done = count["files"] > 0 and queued == 0 and in_progress == 0
    first, done_at = fields.get("first_at"), fields.get("done_at")
    throughput = None
    if first is not None and done_at is not None and finished > 0:
        span_s = (int(done_at) - int(first)) / 1e6
        throughput = finished / span_s if span_s > 0 else None
    remaining = queued + in_progress
    eta = 0.0 if done else (remaining / throughput if throughput else None)
    return BatchProgress(
        correlation_id=cid, total=total, queued=queued, in_progress=in_progress,
        succeeded=count["succeeded"], failed=count["failed"], removed=count["removed"],
        expected=expected, started_at=_time(first),
        finished_at=_time(done_at) if done else None, last_event_at=_time(fields.get("last_at")),
        throughput_per_s=throughput, eta_s=eta, done=done)


def _decode(fields: Mapping[Any, Any]) -> dict[str, str]:
    return {keys.text(k): keys.text(v) for k, v in fields.items()}


async def read_batches(redis: Redis, prefix: str, cids: list[str]) -> list[BatchProgress]:
    """Read several batches in one round trip; unknown ids are left out."""
    async with redis.pipeline(transaction=False) as pipe:
        for cid in cids:
            pipe.hgetall(keys.batch(prefix, cid))
            pipe.get(keys.expected(prefix, cid))
        raw = await pipe.execute()
    out = []
    for n, cid in enumerate(cids):
        fields, expected = raw[2 * n], raw[2 * n + 1]
        progress = progress_from_fields(
            cid, _decode(fields), None if expected is None else int(expected))
        if progress is not None:
            out.append(progress)
    return out


async def read_batch(redis: Redis, prefix: str, cid: str) -> BatchProgress | None:
    found = await read_batches(redis, prefix, [cid])
    return found[0] if found else None


async def list_batches(redis: Redis, prefix: str, limit: int = 20) -> list[BatchProgress]:
    """The most recently started batches first (by first event time)."""
    raw: list[Any] = await redis.zrevrange(keys.batches(prefix), 0, limit - 1)
    cids = [keys.text(c) for c in raw]
    return await read_batches(redis, prefix, cids)


async def _await_change(pubsub: PubSub, wait_s: float, settle_s: float) -> None:
    """Block until a change message or `wait_s`; then drain the burst so many writes in a row
    cost one re-read (the runner may publish hundreds of times a second)."""
    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=wait_s)
    if message is None:
        return
    await asyncio.sleep(settle_s)
    while await pubsub.get_message(ignore_subscribe_messages=True, timeout=0) is not None:
        pass


async def wait_for_batch(
    redis: Redis, prefix: str, cid: str, timeout: float | None = None,
    on_update: Callable[[BatchProgress], object] | None = None,
    poll_interval: float = 2.0, settle_s: float = 0.1,
) -> BatchProgress:
    """Return the batch's progress once it is done; raise TimeoutError after `timeout` s.

    Subscribes to the batch's channel before the first read so no change is missed between the
    two; the poll interval is only a fallback, as pub/sub messages are not delivered to a
    client that is reconnecting.
    """
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    pubsub = redis.pubsub()
    await pubsub.subscribe(keys.channel(prefix, cid))
    try:
        last: BatchProgress | None = None
        while True:
            current = await read_batch(redis, prefix, cid)
            if current is not None and current != last and on_update is not None:
                on_update(current)
            last = current or last
            if current is not None and current.done:
                return current
            wait_s = poll_interval
            if deadline is not None:
                wait_s = min(wait_s, deadline - loop.time())
                if wait_s <= 0:
                    raise TimeoutError(f"batch {cid} not done after {timeout:g} s: " + (
                        last.summary() if last else "none of its events projected yet"))
            await _await_change(pubsub, wait_s, settle_s)
    finally:
        await pubsub.unsubscribe()
        await close_pubsub(pubsub)


async def close_pubsub(pubsub: PubSub) -> None:
    """Close a subscription whichever redis-py is installed.

    redis-py 8.1 leaves ``PubSub.aclose`` unannotated and 8.2 annotates it, so a
    ``type: ignore`` on the call is an error under one of them (``warn_unused_ignores``);
    binding it to a typed name first type-checks under both.
    """
    close: Callable[[], Awaitable[None]] = pubsub.aclose
    await close()


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    lag: int
    end_offset: int
    position: int
    updated_at: float


async def read_lag(redis: Redis, prefix: str, group: str | None = None) -> list[PartitionLag]:
    """Lag rows written by `record_lag`, for one consumer group or all, sorted."""
    pattern = keys.glob_escape(f"{prefix}lag:" + (f"{group}:" if group else "")) + "*"
    names = sorted({keys.text(k) async for k in redis.scan_iter(match=pattern, count=1000)})
    async with redis.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.hgetall(name)
        rows = await pipe.execute()
    out = []
    for name, raw in zip(names, rows, strict=True):
        # Topics cannot contain ':' and partitions are numbers, so split from the right;
        # the group id may contain anything.
        grp, topic, partition = name[len(prefix) + len("lag:"):].rsplit(":", 2)
        f = _decode(raw)
        if not f:
            continue  # deleted between SCAN and HGETALL
        out.append(PartitionLag(grp, topic, int(partition), int(f["lag"]),
                                int(f["end_offset"]), int(f["position"]),
                                float(f["updated_at"])))
    return out


_STATUS_OF_CODE = {code: status for status, code in CODE.items()}


def state_of_entry(value: str) -> str:
    """Pure: a file's state word (schemas/status.py TrackStatus) from its `files:` hash value.

    The value starts with the status letter the script stores; an entry starting with a
    word instead, today's or a former batch word (`in_progress`, `succeeded`, `removed`),
    reads as today's word. Anything else is shown as it is rather than hidden.
    """
    head = value.split(" ", 1)[0]
    status = _STATUS_OF_CODE.get(head)
    if status is not None:
        return status
    try:
        return parse_status(head)
    except ValueError:
        return head


async def read_file_states(redis: Redis, prefix: str, cid: str,
                           limit: int = 200) -> list[tuple[str, str]]:
    """Up to `limit` (file_id, status) pairs of one batch, in Redis' scan order (a batch may
    hold 100,000 files: this never reads the whole hash); statuses are TrackStatus words."""
    out: list[tuple[str, str]] = []
    async for fid, value in redis.hscan_iter(keys.batch_files(prefix, cid), count=limit):
        out.append((keys.text(fid), state_of_entry(keys.text(value))))
        if len(out) >= limit:
            break
    return sorted(out)
