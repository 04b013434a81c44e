"""One contract for every projection writer, run against the real PostgreSQL, Neo4j and Redis
and the in-memory writer: fed twice equals fed once; duplicates at new offsets change
nothing; reset plus replay equals live; checkpoints never rewind.

The writers are fed as the runner feeds them (apply a batch, write it with its checkpoints),
without Kafka: the runner's own part is tested in tests/unit/projections/test_runner_memory.py.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from infra.settings import Settings
from projections.base import Checkpoints, Positioned, Projector, Writer
from projections.neo4j import queries
from projections.neo4j.apply import Neo4jProjector
from projections.neo4j.writer import Neo4jWriter
from projections.postgres.apply import PostgresProjector
from projections.postgres.writer import PostgresWriter
from projections.redis.apply import RedisProgressProjector
from projections.redis.writer import RedisProgressWriter, connect, delete_prefix
from schemas.analysis_events import AnalysisCompleted, AnalysisFailed, AnalysisStarted
from schemas.codec import AnyEvent
from tests.fakes.memory_writer import LatestEventProjector, MemoryWriter
from tests.integration.projections.neo4j_support import library_history
from tests.integration.projections.redis_support import batch_events, checkpoints_of
from tests.integration.projections.redis_support import dump as redis_dump

SERVICES = ("postgres", "neo4j", "redis")
pytestmark = pytest.mark.integration

PARTITIONS = 3
PG_TABLES = {"tracks": "file_id", "analyses": "analysis_id", "failures": "file_id",
             "track_moves": "from_id, to_id"}


@dataclass
class Store:
    """One writer under test, its pure projector, and a dump of its read model (no
    checkpoints: they are positions, not state)."""

    projector: Projector[Any]
    writer: Writer[Any]
    dump: Callable[[], Awaitable[Any]]

    @property
    def name(self) -> str:
        return self.projector.name

    async def checkpoints(self) -> Checkpoints:
        return await self.writer.load_checkpoints(self.name)


# ---------------------------------------------------------------- the stores

async def postgres_store(settings: Settings, label: str) -> tuple[Store, Callable[[], Any]]:
    writer = PostgresWriter(settings, label)
    await writer.setup()
    dsn = settings.database_url.replace("+asyncpg", "")

    async def dump() -> dict[str, list[tuple[Any, ...]]]:
        conn = await asyncpg.connect(dsn)
        try:
            return {t: [tuple(r) for r in
                        await conn.fetch(f"SELECT * FROM {label}.{t} ORDER BY {order}")]
                    for t, order in PG_TABLES.items()}
        finally:
            await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {label} CASCADE")
        finally:
            await conn.close()
        await writer.close()

    return Store(PostgresProjector(), writer, dump), drop


async def neo4j_store(settings: Settings, label: str) -> tuple[Store, Callable[[], Any]]:
    writer = Neo4jWriter(settings, label)
    await writer.setup()

    async def drop() -> None:
        await writer.drop_namespace()
        await writer.close()

    return Store(Neo4jProjector(), writer,
                 lambda: queries.dump_namespace(writer.driver, writer.ns)), drop


async def redis_store(settings: Settings, label: str) -> tuple[Store, Callable[[], Any]]:
    redis, prefix = connect(settings.redis_url), f"{label}:"
    writer = RedisProgressWriter(redis, prefix)
    await writer.setup()

    async def drop() -> None:
        await delete_prefix(redis, prefix)
        await writer.close()

    return Store(RedisProgressProjector(), writer,
                 lambda: redis_dump(redis, prefix, skip=("checkpoint:",))), drop


async def memory_store(settings: Settings, label: str) -> tuple[Store, Callable[[], Any]]:
    writer, projector = MemoryWriter(), LatestEventProjector()

    async def dump() -> list[Any]:
        return writer.rows(projector.name)

    async def drop() -> None:
        await writer.close()

    return Store(projector, writer, dump), drop


MAKERS = {"postgres": postgres_store, "neo4j": neo4j_store, "redis": redis_store,
          "memory": memory_store}


@pytest.fixture(params=sorted(MAKERS))
async def stores(request: pytest.FixtureRequest, settings: Settings,
                 uid: str) -> AsyncIterator[Callable[[str], Awaitable[Store]]]:
    """Makes fresh, isolated stores of one kind (`t_<uid>_<label>`), dropped afterwards."""
    made: list[Callable[[], Any]] = []

    async def make(label: str) -> Store:
        store, drop = await MAKERS[request.param](settings, f"t_{uid}_{label}")
        made.append(drop)
        return store

    yield make
    for drop in made:
        await drop()


# ---------------------------------------------------------------- events and feeding

ANALYSIS = (AnalysisStarted, AnalysisCompleted, AnalysisFailed)


def history() -> list[AnyEvent]:
    """A library's messy life (moves, re-analyses, retags, deletes) and a progress batch
    (transient failures, late "started" reports)."""
    return [*library_history(40), *batch_events("contract", 60)]


def positioned(events: Sequence[AnyEvent]) -> list[Positioned]:
    """As Kafka would place them: file and analysis events on two topics, partitioned by
    file id, offsets growing per partition in the order given."""
    nxt: dict[tuple[str, int], int] = {}
    out = []
    for event in events:
        topic = "analysis" if isinstance(event, ANALYSIS) else "files"
        key = (topic, zlib.crc32(event.file_id.encode()) % PARTITIONS)
        nxt[key] = nxt.get(key, -1) + 1
        out.append(Positioned(event, *key, nxt[key]))
    return out


async def feed(store: Store, items: Sequence[Positioned], batch_size: int = 50) -> None:
    """What the runner does once it has a batch: apply it, write it with its checkpoints."""
    for start in range(0, len(items), batch_size):
        batch = items[start:start + batch_size]
        await store.writer.write(store.name, store.projector.apply(batch), checkpoints_of(batch))


# ---------------------------------------------------------------- the contract

async def test_fed_twice_equals_fed_once(stores: Callable[[str], Awaitable[Store]]) -> None:
    items = positioned(history())
    once, twice = await stores("once"), await stores("twice")
    await feed(once, items)
    await feed(twice, items, batch_size=37)
    await feed(twice, items, batch_size=61)  # redelivered, cut into other batches
    reference = await once.dump()
    assert reference != await (await stores("empty")).dump()  # the history left a mark
    assert await twice.dump() == reference
    assert await twice.checkpoints() == await once.checkpoints() == checkpoints_of(items)


async def test_duplicates_at_new_offsets_change_nothing(
        stores: Callable[[str], Awaitable[Store]]) -> None:
    events = history()
    rng = random.Random(7)
    mixed = events + rng.sample(events, k=len(events) // 3)
    rng.shuffle(mixed)  # duplicates anywhere, and one file's events out of order too
    once, duplicated = await stores("once"), await stores("dups")
    await feed(once, positioned(events))
    await feed(duplicated, positioned(mixed), batch_size=43)
    assert await duplicated.dump() == await once.dump()


async def test_reset_plus_replay_equals_live(stores: Callable[[str], Awaitable[Store]]) -> None:
    items = positioned(history())
    store = await stores("live")
    fresh = await store.dump()
    await feed(store, items)
    live, positions = await store.dump(), await store.checkpoints()
    await store.writer.reset(store.name)
    assert await store.dump() == fresh
    assert await store.checkpoints() == {}
    await feed(store, items, batch_size=29)
    assert await store.dump() == live
    assert await store.checkpoints() == positions


async def test_checkpoints_never_rewind(stores: Callable[[str], Awaitable[Store]]) -> None:
    items = positioned(history())
    store = await stores("ahead")
    await feed(store, items)
    ahead, state = await store.checkpoints(), await store.dump()
    # A zombie writer after a rebalance: it still writes an early batch with its offsets.
    early = items[:40]
    await store.writer.write(store.name, store.projector.apply(early), checkpoints_of(early))
    await store.writer.write(store.name, store.projector.apply([]),
                             {key: 0 for key in ahead})
    assert await store.checkpoints() == ahead
    assert await store.dump() == state
