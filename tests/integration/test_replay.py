"""Replay equivalence: rebuilding all three projections from the topics gives the live state."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
from neo4j import AsyncGraphDatabase

from infra.settings import Settings
from projections.neo4j.queries import dump_namespace
from projections.redis.writer import connect
from schemas.namespace import Namespace
from streams.ops.replay import replay_store
from streams.worker.projections_role import ProjectionsRole
from tests.integration.kafka_utils import produce_events
from tests.integration.projections.redis_support import batch_events, dump

PARTITIONS = 6
SERVICES = ("kafka", "postgres", "neo4j", "redis")
FILES = 1000
PG_TABLES = {"tracks": "file_id", "analyses": "analysis_id", "failures": "file_id"}



async def snapshot(settings: Settings, prefix: str) -> dict[str, Any]:
    conn = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    try:
        # updated_at/created_at are event times in this model, so they belong in the dump.
        pg = {t: [json.dumps(dict(r), default=str, sort_keys=True) for r in
                  await conn.fetch(f"SELECT * FROM {prefix}.{t} ORDER BY {key}")]
              for t, key in PG_TABLES.items()}
    finally:
        await conn.close()
    driver = AsyncGraphDatabase.driver(settings.neo4j_uri,
                                       auth=(settings.neo4j_user, settings.neo4j_password))
    try:
        graph = await dump_namespace(driver, prefix)
    finally:
        await driver.close()
    redis = connect(settings.redis_url)
    try:
        keys = await dump(redis, f"{prefix}:", skip=("lag:",))
    finally:
        await redis.aclose()
    return {"postgres": pg, "neo4j": graph, "redis": keys}


def describe_difference(before: dict[str, Any], after: dict[str, Any]) -> str:
    """Only what differs, per part: a 1,000-file dump is unreadable as a whole."""
    lines = []
    for part in sorted(set(before) | set(after)):
        old = {json.dumps(x, default=str) for x in before.get(part, [])}
        new = {json.dumps(x, default=str) for x in after.get(part, [])}
        if old != new:
            lines.append(f"{part}: live only {sorted(old - new)[:5]} "
                         f"({len(old - new)}), replay only {sorted(new - old)[:5]} "
                         f"({len(new - old)})")
    return "; ".join(lines)


async def test_replay_rebuilds_exactly_the_live_state(settings: Settings, prefix: str) -> None:
    events = batch_events("replay", FILES)
    await produce_events(settings.kafka_bootstrap_servers, prefix, events)
    n_events = len(events)
    live = ProjectionsRole(settings, Namespace(prefix))
    await live.start()
    try:
        await asyncio.gather(*(r.run_until_caught_up(timeout_s=180) for r in live.runners))
    finally:
        await live.stop()
    before = await snapshot(settings, prefix)
    assert len(before["postgres"]["tracks"]) == FILES
    results = [await replay_store(settings, Namespace(prefix), store) for store in
               ("postgres", "neo4j", "redis")]
    after = await snapshot(settings, prefix)
    for store in ("postgres", "neo4j", "redis"):
        assert after[store] == before[store], f"{store} differs after replay: " + \
            describe_difference(before[store], after[store])
    rates = {r.store: round(r.events_per_s) for r in results}
    total_s = sum(r.seconds for r in results)
    print(f"replay: {n_events} events x 3 projections in {total_s:.1f}s; per store {rates}")
    assert all(r.events == n_events for r in results)
