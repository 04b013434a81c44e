"""A batch of files driven through real worker subprocesses, and the check that every read
model then holds each file exactly once (used by the chaos and the cluster failure tests)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from neo4j import AsyncGraphDatabase

from infra.settings import Settings
from projections.redis import keys
from projections.redis.progress import BatchProgress, read_batch, wait_for_batch
from schemas.codec import decode
from schemas.topics import analysis_topic
from streams.ops.worker_process import WorkerProcess
from tests.e2e.support import free_port
from tests.integration.kafka_utils import read_topic, wait_until


async def wait_ready(worker: WorkerProcess, timeout_s: float = 180) -> None:
    async def ready() -> bool:
        assert worker.alive(), f"{worker.role} worker exited; see {worker.log_path}"
        try:
            async with (aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
                        http.get(f"http://127.0.0.1:{worker.port}/ready") as resp):
                return resp.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    assert await wait_until(ready, timeout_s), f"{worker.role} worker never became ready"


def spawn(role: str, prefix: str, tmp: Path, run: int | str,
          env: dict[str, str] | None = None) -> WorkerProcess:
    worker = WorkerProcess(role, prefix, tmp / f"{role}.{run}.log", env=env, port=free_port())
    worker.start()
    return worker


def stop_all(workers: dict[str, WorkerProcess], grace_s: float) -> dict[str, int | None]:
    """SIGTERM every live worker (SIGKILL if it overstays its grace); their exit codes."""
    codes: dict[str, int | None] = {}
    for name, worker in workers.items():
        if worker.alive():
            try:
                codes[name] = worker.terminate(timeout=grace_s)
            except subprocess.TimeoutExpired:
                codes[name] = None
        worker.stop_quietly()
    return codes


def assert_alive(workers: dict[str, WorkerProcess]) -> None:
    dead = {name: str(w.log_path) for name, w in workers.items() if not w.alive()}
    assert not dead, f"worker(s) exited unexpectedly: {dead}"


async def batch_done(redis: Any, prefix: str, cid: str,
                     workers: dict[str, WorkerProcess], timeout_s: float = 1500) -> BatchProgress:
    """wait_for_batch, failing fast if a worker dies instead of waiting out the timeout."""
    task = asyncio.create_task(wait_for_batch(redis, f"{prefix}:", cid, timeout=timeout_s))
    try:
        while not task.done():
            assert_alive(workers)
            await asyncio.wait([task], timeout=2)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return task.result()


async def wait_for_progress(redis: Any, prefix: str, cid: str, finished: int,
                            workers: dict[str, WorkerProcess]) -> BatchProgress:
    """Poll until at least `finished` files of the batch are done; the progress then."""
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        assert_alive(workers)
        progress = await read_batch(redis, f"{prefix}:", cid)
        if progress is not None and progress.finished >= finished:
            return progress
        await asyncio.sleep(0.5)
    raise AssertionError(f"fewer than {finished} files finished within 900 s")


async def settled_postgres(settings: Settings, schema: str, count: int) -> list[dict[str, Any]]:
    """Tracks joined to their current analysis, once `count` files are analysed."""
    conn = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    sql = (f"SELECT t.file_id, t.status, t.camelot, t.current_analysis_id, "
           f"a.file_id AS analysis_file_id, "
           f"(SELECT count(*) FROM {schema}.analyses x WHERE x.file_id = t.file_id) "
           f"AS analyses_rows FROM {schema}.tracks t "
           f"LEFT JOIN {schema}.analyses a ON a.analysis_id = t.current_analysis_id")
    rows: list[dict[str, Any]] = []
    try:
        async def settled() -> bool:
            nonlocal rows
            rows = [dict(r) for r in await conn.fetch(sql)]
            return len(rows) >= count and all(r["analysis_file_id"] for r in rows)

        await wait_until(settled, 120)
    finally:
        await conn.close()
    return rows


async def settled_neo4j(settings: Settings, ns: str, count: int) -> dict[str, list[str]]:
    """file_id -> camelot of every IN_KEY edge, once `count` tracks have at least one."""
    driver = AsyncGraphDatabase.driver(settings.neo4j_uri,
                                       auth=(settings.neo4j_user, settings.neo4j_password))
    graph: dict[str, list[str]] = {}
    try:
        async def settled() -> bool:
            nonlocal graph
            records, _, _ = await driver.execute_query(
                "MATCH (t:Track {ns: $ns}) OPTIONAL MATCH (t)-[:IN_KEY]->(k:Key) "
                "RETURN t.file_id AS id, collect(k.camelot) AS keys", ns=ns)
            graph = {r["id"]: sorted(r["keys"]) for r in records}
            return len(graph) >= count and all(graph.values())

        await wait_until(settled, 120)
    finally:
        await driver.close()
    return graph


async def completed_events(bootstrap: str, prefix: str) -> Counter[str]:
    """How many AnalysisCompleted events the analysis topic holds per file."""
    records = await read_topic(bootstrap, analysis_topic(prefix), 120)
    return Counter(event.file_id for event in map(decode, (r.value for r in records))
                   if event.event_type == "AnalysisCompleted")


@dataclass(frozen=True)
class Settled:
    """What every store and the event log hold once the namespace's batches are done."""

    batches: tuple[BatchProgress, ...]
    tracks: list[dict[str, Any]]
    graph: dict[str, list[str]]
    redis_ids: set[str]
    completions: Counter[str]

    @property
    def redelivered(self) -> int:
        """Analyses completed more than once (at-least-once delivery; absorbed downstream)."""
        return sum(n - 1 for n in self.completions.values())


async def settle(settings: Settings, redis: Any, prefix: str, batches: dict[str, int],
                 workers: dict[str, WorkerProcess], bootstrap: str | None = None) -> Settled:
    """Wait for each batch (correlation id -> files) to finish in Redis, then for Postgres
    and Neo4j to hold all of them."""
    done = tuple([await batch_done(redis, prefix, cid, workers) for cid in batches])
    count = sum(batches.values())
    tracks = await settled_postgres(settings, prefix, count)
    graph = await settled_neo4j(settings, prefix, count)
    redis_ids: set[str] = set()
    for cid in batches:
        redis_ids |= {keys.text(k) for k in
                      await redis.hkeys(keys.batch_files(f"{prefix}:", cid))}
    completions = await completed_events(bootstrap or settings.kafka_bootstrap_servers, prefix)
    return Settled(done, tracks, graph, redis_ids, completions)


def assert_exactly_once(settled: Settled, expected_ids: set[str]) -> None:
    """Each file analysed once in every read model, none missing, none counted twice."""
    for done in settled.batches:
        assert (done.succeeded, done.failed, done.removed) == (done.total, 0, 0), done
        assert done.expected == done.total, done
    assert sum(done.total for done in settled.batches) == len(expected_ids)
    tracks = settled.tracks
    # Postgres: exactly one current analysis per file, and no duplicated analysis rows.
    assert {t["file_id"] for t in tracks} == expected_ids
    assert all(t["status"] == "analysed" and t["current_analysis_id"] for t in tracks)
    per_file = Counter(t["analysis_file_id"] for t in tracks)
    assert per_file == dict.fromkeys(expected_ids, 1)
    assert all(t["analyses_rows"] == 1 for t in tracks), [t for t in tracks
                                                           if t["analyses_rows"] != 1][:3]
    # The three stores agree on the set of files and (graph vs Postgres) on each key.
    assert set(settled.graph) == expected_ids and settled.redis_ids == expected_ids
    mismatched = {t["file_id"]: (t["camelot"], settled.graph[t["file_id"]]) for t in tracks
                  if [t["camelot"]] != settled.graph[t["file_id"]]}
    assert not mismatched, dict(list(mismatched.items())[:5])
    assert set(settled.completions) == expected_ids  # no event missing from the event store
