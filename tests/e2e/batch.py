"""A batch of files driven through real worker subprocesses, and the check that every read
model then holds each file exactly once (used by the chaos and the cluster failure tests)."""

from __future__ import annotations

import asyncio
import subprocess
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from neo4j import AsyncGraphDatabase

from infra.polling import poll_or_fail
from infra.settings import Settings
from projections.redis.progress import (
    BatchProgress,
    read_batch,
    read_file_states,
    wait_for_batch,
)
from schemas.codec import decode
from schemas.namespace import Namespace
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
    progress: BatchProgress | None = None

    async def enough() -> bool:
        nonlocal progress
        progress = await read_batch(redis, f"{prefix}:", cid)
        return progress is not None and progress.finished >= finished

    await poll_or_fail(enough, 900, lambda: f"{finished} files of batch {cid} to finish "
                       f"(last: {progress})", alive=lambda: assert_alive(workers))
    assert progress is not None
    return progress


class Unsettled(AssertionError):
    """A read model short of the batches when its wait ran out. `file_ids` are the files it
    holds unfinished; those it has no row for at all are only counted in the message."""

    def __init__(self, message: str, file_ids: Iterable[str]) -> None:
        super().__init__(message)
        self.file_ids = sorted(file_ids)


async def settled_postgres(settings: Settings, schema: str, count: int) -> list[dict[str, Any]]:
    """Tracks joined to their current analysis, once `count` files are analysed; Unsettled
    if not within 120 s."""
    conn = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    sql = (f"SELECT t.file_id, t.status, t.camelot, t.current_analysis_id, "
           f"a.file_id AS analysis_file_id, "
           f"(SELECT count(*) FROM {schema}.analyses x WHERE x.file_id = t.file_id) "
           f"AS analyses_rows FROM {schema}.tracks t "
           f"LEFT JOIN {schema}.analyses a ON a.analysis_id = t.current_analysis_id")
    rows: list[dict[str, Any]] = []

    def unfinished() -> dict[str, str]:
        return {r["file_id"]: r["status"] for r in rows if not r["analysis_file_id"]}

    try:
        async def settled() -> bool:
            nonlocal rows
            rows = [dict(r) for r in await conn.fetch(sql)]
            return len(rows) >= count and all(r["analysis_file_id"] for r in rows)

        await poll_or_fail(settled, 120, lambda: (
            f"PostgreSQL schema {schema} to hold {count} tracks with their current analysis "
            f"(last: {len(rows)} tracks; without one, with their status: {unfinished()})"))
    except AssertionError as timeout:
        raise Unsettled(str(timeout), unfinished()) from timeout
    finally:
        await conn.close()
    return rows


async def settled_neo4j(settings: Settings, ns: str, count: int) -> dict[str, list[str]]:
    """file_id -> camelot of every IN_KEY edge, once `count` tracks have at least one;
    Unsettled if not within 120 s."""
    driver = AsyncGraphDatabase.driver(settings.neo4j_uri,
                                       auth=(settings.neo4j_user, settings.neo4j_password))
    graph: dict[str, list[str]] = {}

    def keyless() -> list[str]:
        return [file_id for file_id, keys in graph.items() if not keys]

    try:
        async def settled() -> bool:
            nonlocal graph
            records, _, _ = await driver.execute_query(
                "MATCH (t:Track {ns: $ns}) OPTIONAL MATCH (t)-[:IN_KEY]->(k:Key) "
                "RETURN t.file_id AS id, collect(k.camelot) AS keys", ns=ns)
            graph = {r["id"]: sorted(r["keys"]) for r in records}
            return len(graph) >= count and all(graph.values())

        await poll_or_fail(settled, 120, lambda: (
            f"Neo4j namespace {ns} to hold {count} tracks with an IN_KEY edge "
            f"(last: {len(graph)} tracks; without one: {keyless()})"))
    except AssertionError as timeout:
        raise Unsettled(str(timeout), keyless()) from timeout
    finally:
        await driver.close()
    return graph


async def analysis_history(bootstrap: str, prefix: str) -> dict[str, list[str]]:
    """Per file, its analysis events in log order as `type@time by worker` (for diagnosis)."""
    records = await read_topic(bootstrap, Namespace(prefix).analysis_topic, 120)
    history: dict[str, list[str]] = {}
    for record in records:
        event = decode(record.value)
        worker = getattr(event.payload, "worker", "")
        history.setdefault(event.file_id, []).append(
            f"{event.event_type}@{event.occurred_at:%H:%M:%S.%f} p{record.partition}"
            f"/{record.offset} {worker}")
    return history


def completions_of(history: dict[str, list[str]]) -> Counter[str]:
    """How many AnalysisCompleted events the analysis topic holds per file."""
    return Counter({file_id: sum(e.startswith("AnalysisCompleted@") for e in events)
                    for file_id, events in history.items()
                    if any(e.startswith("AnalysisCompleted@") for e in events)})


@dataclass(frozen=True)
class Settled:
    """What every store and the event log hold once the namespace's batches are done."""

    batches: tuple[BatchProgress, ...]
    tracks: list[dict[str, Any]]
    graph: dict[str, list[str]]
    redis_states: dict[str, str]
    history: dict[str, list[str]]
    checkpoints: dict[str, int]  # "projection topic[partition]" -> offset, in Postgres

    @property
    def completions(self) -> Counter[str]:
        return completions_of(self.history)

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
    bootstrap = bootstrap or settings.kafka_bootstrap_servers
    try:
        tracks = await settled_postgres(settings, prefix, count)
        graph = await settled_neo4j(settings, prefix, count)
    except Unsettled as short:
        # What assert_exactly_once shows of a file left unfinished (the defect the cluster
        # tests hunt): its analysis events and every projection's stored position.
        history = await analysis_history(bootstrap, prefix)
        events = {file_id: history.get(file_id) for file_id in short.file_ids}
        raise AssertionError(f"{short}; their analysis events: {events}; stored positions: "
                             f"{await postgres_checkpoints(settings, prefix)}") from short
    redis_states: dict[str, str] = {}
    for cid in batches:
        redis_states |= dict(await read_file_states(redis, f"{prefix}:", cid, limit=10**6))
    history = await analysis_history(bootstrap, prefix)
    return Settled(done, tracks, graph, redis_states, history,
                   await postgres_checkpoints(settings, prefix))


async def postgres_checkpoints(settings: Settings, schema: str) -> dict[str, int]:
    """Every projection's stored position per partition (for diagnosis of a stuck file)."""
    conn = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    try:
        rows = await conn.fetch(f'SELECT projection, topic, partition, "offset" '
                                f"FROM {schema}.projection_checkpoints ORDER BY 1, 2, 3")
    finally:
        await conn.close()
    return {f"{r['projection']} {r['topic']}[{r['partition']}]": r["offset"] for r in rows}


def assert_exactly_once(settled: Settled, expected_ids: set[str]) -> None:
    """Each file analysed once in every read model, none missing, none counted twice."""
    for done in settled.batches:
        counts = (f"total {done.total}, succeeded {done.succeeded}, failed {done.failed}, "
                  f"removed {done.removed}, expected {done.expected}")
        if (done.succeeded, done.failed, done.removed) != (done.total, 0, 0):
            odd = {f: (state, settled.history.get(f)) for f, state in settled.redis_states.items()
                   if state != "analysed"}
            raise AssertionError(f"batch counts {counts}; files not analysed in Redis: {odd}")
        assert done.expected == done.total, counts
    assert sum(done.total for done in settled.batches) == len(expected_ids)
    tracks = settled.tracks
    # Postgres: exactly one current analysis per file, and no duplicated analysis rows.
    assert {t["file_id"] for t in tracks} == expected_ids
    stuck = {t["file_id"]: (t["status"], settled.history.get(t["file_id"]))
             for t in tracks if t["status"] != "analysed" or not t["current_analysis_id"]}
    assert not stuck, (f"tracks not analysed, with their analysis events: {stuck}; "
                       f"stored positions: {settled.checkpoints}")
    per_file = Counter(t["analysis_file_id"] for t in tracks)
    assert per_file == dict.fromkeys(expected_ids, 1)
    assert all(t["analyses_rows"] == 1 for t in tracks), [t for t in tracks
                                                           if t["analyses_rows"] != 1][:3]
    # The three stores agree on the set of files and (graph vs Postgres) on each key.
    assert set(settled.graph) == expected_ids and set(settled.redis_states) == expected_ids
    mismatched = {t["file_id"]: (t["camelot"], settled.graph[t["file_id"]]) for t in tracks
                  if [t["camelot"]] != settled.graph[t["file_id"]]}
    assert not mismatched, dict(list(mismatched.items())[:5])
    assert set(settled.completions) == expected_ids  # no event missing from the event store
