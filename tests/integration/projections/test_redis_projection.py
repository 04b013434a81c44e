"""The Redis progress projection against the real Redis (and Kafka through the runner); its
idempotency and replay are the writer contract's (test_writer_contract.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiokafka import AIOKafkaProducer
from redis.asyncio import Redis

from infra.settings import Settings
from projections.base import ProjectionSpec
from projections.redis.apply import RedisProgressProjector
from projections.redis.progress import (
    BatchProgress,
    list_batches,
    read_batch,
    read_lag,
    wait_for_batch,
)
from projections.redis.side_writes import record_expected_total, record_lag
from projections.redis.writer import RedisProgressWriter, connect, delete_prefix
from projections.runner import ProjectionRunner
from schemas.analysis_events import AnalysisCompleted, AnalysisFailed, AnalysisStarted
from schemas.codec import encode
from tests.integration.conftest import require_tcp
from tests.integration.projections.redis_support import (
    batch_events,
    checkpoints_of,
    counts_from_hash,
    dump,
    expected_counts,
    feed,
    position,
)

SERVICES = ("redis",)  # Kafka too, for the tests taking `kafka_up`

pytestmark = pytest.mark.asyncio(loop_scope="session")



@pytest.fixture
def kafka_up(settings: Settings) -> None:
    require_tcp("Kafka", settings.kafka_bootstrap_servers, 9092)


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = connect(settings.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def prefixes(redis: Redis, uid: str) -> AsyncIterator[Callable[[str], str]]:
    """`t:<uid>:<name>:` prefixes, all deleted after the test."""
    made: list[str] = []

    def make(name: str = "p") -> str:
        made.append(f"t:{uid}:{name}:")
        return made[-1]

    yield make
    for prefix in made:
        await delete_prefix(redis, prefix)


async def _writer(settings: Settings, prefix: str, **kw: int) -> RedisProgressWriter:
    writer = RedisProgressWriter(connect(settings.redis_url), prefix, **kw)
    await writer.setup()
    return writer


async def _produce(settings: Settings, events_by_topic: dict[str, list[object]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers,
                                acks="all", linger_ms=20)
    await producer.start()
    try:
        sent = [await producer.send(topic, encode(e), key=e.file_id.encode())  # type: ignore[attr-defined]
                for topic, events in events_by_topic.items() for e in events]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def _catch_up(settings: Settings, prefix: str, topics: list[str], group: str) -> int:
    writer = await _writer(settings, prefix)
    runner = ProjectionRunner(ProjectionSpec(RedisProgressProjector(), writer, "redis"),
                              settings, topics, group_id=group)
    try:
        return await runner.run_until_caught_up(timeout_s=60)
    finally:
        await runner.stop()


async def test_batch_reaches_n_of_n_through_kafka_and_reset_keeps_the_expected_total(
        settings: Settings, redis: Redis, prefixes: Callable[[str], str], uid: str,
        kafka_up: None, kafka_topic: Callable[..., Awaitable[str]]) -> None:
    prefix, n = prefixes("live"), 300
    files_topic, analysis_topic = await kafka_topic("files"), await kafka_topic("analysis")
    events = batch_events(f"cid-{uid}", n)
    await record_expected_total(redis, prefix, f"cid-{uid}", n)
    updates: list[BatchProgress] = []
    waiter = asyncio.create_task(wait_for_batch(redis, prefix, f"cid-{uid}", timeout=120,
                                                on_update=updates.append))
    analysis = (AnalysisStarted, AnalysisCompleted, AnalysisFailed)
    await _produce(settings, {
        # Separate topics are not ordered with each other: results may beat their discovery.
        files_topic: [e for e in events if not isinstance(e, analysis)],
        analysis_topic: [e for e in events if isinstance(e, analysis)]})
    try:
        applied = await _catch_up(settings, prefix, [files_topic, analysis_topic], f"g-{uid}")
        assert applied >= len(events)  # at-least-once: a rebalance may redeliver some
        done = await asyncio.wait_for(waiter, 30)
    finally:
        waiter.cancel()
    ref = expected_counts(events)[f"cid-{uid}"]
    assert done.done and done.total == n - ref["removed"]
    assert (done.succeeded, done.failed, done.removed) == (
        ref["succeeded"], ref["failed"], ref["removed"])
    assert updates and updates[0].total == n and updates[-1] == done
    assert done.throughput_per_s is not None and done.finished_at is not None
    assert [b.correlation_id for b in await list_batches(redis, prefix)] == [f"cid-{uid}"]

    # A reset keeps what no event restores (replay equals live: test_writer_contract.py).
    await RedisProgressWriter(redis, prefix).reset("redis")
    assert await dump(redis, prefix) == [(f"expected:cid-{uid}", ("string", str(n)))]


async def test_counters_of_10000_events_match_the_reference_model(
        settings: Settings, redis: Redis, prefixes: Callable[[str], str]) -> None:
    events = [e for cid in ("a", "b", "c") for e in batch_events(cid, 1300)][:10_000]
    assert len(events) == 10_000
    prefix = prefixes("once")
    await feed(await _writer(settings, prefix, chunk_rows=97), position(events), batch_size=311)
    for cid, counts in expected_counts(events).items():
        assert counts_from_hash(await redis.hgetall(f"{prefix}batch:{cid}")) == counts


async def test_checkpoint_and_counters_agree_in_every_snapshot(
        settings: Settings, redis: Redis, prefixes: Callable[[str], str]) -> None:
    prefix = prefixes("atomic")
    events = batch_events("c", 700)
    items = position(events)
    writer = await _writer(settings, prefix)
    # The counters the reference model expects once each checkpoint is stored.
    expected: dict[tuple[tuple[str, int], ...], dict[str, object]] = {(): {}}
    for end in range(250, len(items) + 250, 250):
        covered = items[:end]
        ckpt = tuple(sorted(checkpoints_of(covered).items()))
        expected[tuple((f"{t}:{p}", o) for (t, p), o in ckpt)] = dict(
            expected_counts([p.event for p in covered]).get("c", {}))
    snapshots: list[tuple[dict[str, str], dict[str, str]]] = []
    stop = asyncio.Event()

    async def read_snapshots() -> None:
        while not stop.is_set():
            async with redis.pipeline(transaction=True) as pipe:
                pipe.hgetall(f"{prefix}checkpoint:redis").hgetall(f"{prefix}batch:c")
                snapshots.append(tuple(await pipe.execute()))  # type: ignore[arg-type]

    reader = asyncio.create_task(read_snapshots())
    await feed(writer, items, batch_size=250)
    stop.set()
    await reader
    seen = set()
    for ckpt, counters in snapshots:
        key = tuple(sorted((f, int(o)) for f, o in ckpt.items()))
        assert key in expected, f"checkpoint {key} is not a write boundary"
        assert counts_from_hash(counters) == expected[key]
        seen.add(key)
    assert len(seen) >= 2  # the reader really interleaved with the writes


async def test_crash_between_chunks_keeps_checkpoint_behind(
        settings: Settings, redis: Redis, prefixes: Callable[[str], str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    items = position(batch_events("c", 300))
    projector = RedisProgressProjector()
    intents, ckpt = projector.apply(items), checkpoints_of(items)
    crashed, clean = prefixes("crash"), prefixes("clean")
    writer = await _writer(settings, crashed, chunk_rows=50)
    real_call = writer._call

    async def crash_on_last(projection, files, batches, checkpoints):  # type: ignore[no-untyped-def]
        if checkpoints:
            raise ConnectionError("redis went away")
        return await real_call(projection, files, batches, checkpoints)

    monkeypatch.setattr(writer, "_call", crash_on_last)
    with pytest.raises(ConnectionError):
        await writer.write("redis", intents, ckpt)
    assert await writer.load_checkpoints("redis") == {}
    partial = await redis.hgetall(f"{crashed}batch:c")
    assert 0 < int(partial["files"]) < 300
    assert sum(counts_from_hash(partial).values()) == int(partial["files"])
    monkeypatch.setattr(writer, "_call", real_call)
    await writer.write("redis", intents, ckpt)  # the redelivery after the crash
    await (await _writer(settings, clean)).write("redis", intents, ckpt)
    assert await writer.load_checkpoints("redis") == ckpt
    assert await dump(redis, crashed) == await dump(redis, clean)


async def test_wait_for_batch_times_out_and_lag_round_trips(
        redis: Redis, prefixes: Callable[[str], str]) -> None:
    prefix = prefixes("wait")
    await record_expected_total(redis, prefix, "pending", 3)
    seen: list[BatchProgress] = []
    with pytest.raises(TimeoutError):
        await wait_for_batch(redis, prefix, "pending", timeout=0.5, on_update=seen.append)
    assert [(p.total, p.queued, p.done) for p in seen] == [(3, 3, False)]
    assert await read_batch(redis, prefix, "unknown") is None

    await record_lag(redis, prefix, "grp:1", [("tracktion.analysis", 0, 120, 100),
                                               ("tracktion.analysis", 1, 5, 9)], at=1.5)
    rows = await read_lag(redis, prefix, "grp:1")
    assert [(r.group, r.topic, r.partition, r.lag, r.updated_at) for r in rows] == [
        ("grp:1", "tracktion.analysis", 0, 20, 1.5), ("grp:1", "tracktion.analysis", 1, 0, 1.5)]
