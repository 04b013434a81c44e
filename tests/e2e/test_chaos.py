"""Chaos: 500 files in flight while the analysis worker is stopped (SIGTERM) and the
projections worker is killed (SIGKILL); after restarts every file is analysed exactly once in
every read model, none is missing and none is counted twice."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from neo4j import AsyncGraphDatabase

from infra.kafka_admin import ensure_topics
from infra.settings import Settings
from projections.redis import keys
from projections.redis.progress import BatchProgress, read_batch, wait_for_batch
from projections.redis.writer import connect, record_expected_total
from schemas.codec import decode
from schemas.envelope import file_id_for, new_id
from schemas.topics import analysis_topic
from streams.publishing.fileinfo import iter_audio_files
from streams.publishing.publisher import publish_paths
from tests.e2e.support import cleanup_namespace, free_port, generated_corpus
from tests.integration.kafka_utils import WorkerProcess, read_topic, wait_until

FILES = 500
KILL_AFTER = 60  # analyses finished before the chaos starts (well short of FILES)


@pytest.fixture(scope="module")
def corpus() -> Path:
    return generated_corpus("chaos500", FILES, seconds=6.0)


@pytest.fixture
async def prefix(settings: Settings, uid: str) -> AsyncIterator[str]:
    name = f"c{uid}"
    await ensure_topics(settings.kafka_bootstrap_servers, 6, name)
    yield name
    await cleanup_namespace(settings, name)


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


def spawn(role: str, prefix: str, tmp: Path, run: int) -> WorkerProcess:
    worker = WorkerProcess(role, prefix, tmp / f"{role}.{run}.log", port=free_port())
    worker.start()
    return worker


@pytest.mark.timeout(1800)
async def test_kill_and_restart_workers_mid_batch(settings: Settings, prefix: str,
                                                  corpus: Path, tmp_path: Path) -> None:
    expected_ids = {file_id_for(str(root), path.relative_to(root).as_posix())
                    for root, path in iter_audio_files([corpus])}
    assert len(expected_ids) == FILES
    t0 = time.monotonic()
    workers = {role: spawn(role, prefix, tmp_path, 0)
               for role in ("bridge", "analysis", "projections")}
    redis = connect(settings.redis_url)
    try:
        for worker in workers.values():
            await wait_ready(worker)
        timings = {"workers_ready": time.monotonic() - t0}
        cid = new_id()
        await record_expected_total(redis, f"{prefix}:", cid, FILES)
        result = await publish_paths([corpus], settings, via="rabbitmq", prefix=prefix,
                                     correlation_id=cid)
        assert (result.files, result.published) == (FILES, FILES), result.errors
        timings["published"] = time.monotonic() - t0

        at_kill = await wait_for_progress(redis, prefix, cid, KILL_AFTER, workers)
        assert at_kill.finished < FILES, f"batch finished before the chaos: {at_kill}"
        timings["chaos_at"] = time.monotonic() - t0
        stopping = time.monotonic()
        code = workers["analysis"].terminate(timeout=settings.shutdown_timeout + 30)
        timings["analysis_sigterm_exit"] = time.monotonic() - stopping
        log = workers["analysis"].log_path.read_text()
        assert code == 0 and "role_stop_timeout" not in log, f"unclean stop ({code}): {log[-800:]}"
        workers["projections"].kill()
        print(f"\nchaos after {at_kill.finished}/{FILES} finished "
              f"({at_kill.in_progress} in progress)")

        workers["analysis"] = spawn("analysis", prefix, tmp_path, 1)
        workers["projections"] = spawn("projections", prefix, tmp_path, 1)
        done = await batch_done(redis, prefix, cid, workers)
        timings["batch_done"] = time.monotonic() - t0
        assert (done.total, done.succeeded, done.failed, done.removed) == (FILES, FILES, 0, 0)
        assert done.expected == FILES

        tracks = await settled_postgres(settings, prefix)
        graph = await settled_neo4j(settings, prefix)
        timings["stores_settled"] = time.monotonic() - t0
        redis_ids = {keys.text(k) for k in
                     await redis.hkeys(keys.batch_files(f"{prefix}:", cid))}
    finally:
        await redis.aclose()
        codes = stop_all(workers, settings.shutdown_timeout + 30)
    assert all(c == 0 for c in codes.values()), codes

    # Postgres: exactly one current analysis per file, and no duplicated analysis rows.
    assert {t["file_id"] for t in tracks} == expected_ids
    assert all(t["status"] == "analysed" and t["current_analysis_id"] for t in tracks)
    per_file = Counter(t["analysis_file_id"] for t in tracks)
    assert per_file == dict.fromkeys(expected_ids, 1)
    assert all(t["analyses_rows"] == 1 for t in tracks), [t for t in tracks
                                                           if t["analyses_rows"] != 1][:3]
    # The three stores agree on the set of files and (graph vs Postgres) on each key.
    assert set(graph) == expected_ids and redis_ids == expected_ids
    mismatched = {t["file_id"]: (t["camelot"], graph[t["file_id"]]) for t in tracks
                  if [t["camelot"]] != graph[t["file_id"]]}
    assert not mismatched, dict(list(mismatched.items())[:5])

    completions = await completed_events(settings, prefix)
    assert set(completions) == expected_ids  # no event missing from the event store
    redelivered = sum(n - 1 for n in completions.values())
    print(f"redelivered analyses (at-least-once): {redelivered}")
    print("timings (s): " + ", ".join(f"{k}={v:.1f}" for k, v in timings.items()))


def stop_all(workers: dict[str, WorkerProcess], grace_s: float) -> dict[str, int | None]:
    """SIGTERM every live worker (SIGKILL if it overstays its grace); their exit codes."""
    codes: dict[str, int | None] = {}
    for role, worker in workers.items():
        if worker.alive():
            try:
                codes[role] = worker.terminate(timeout=grace_s)
            except subprocess.TimeoutExpired:
                codes[role] = None
        worker.stop_quietly()
    return codes


def assert_alive(workers: dict[str, WorkerProcess]) -> None:
    dead = {role: str(w.log_path) for role, w in workers.items() if not w.alive()}
    assert not dead, f"worker(s) exited unexpectedly: {dead}"


async def batch_done(redis: Any, prefix: str, cid: str,
                     workers: dict[str, WorkerProcess]) -> BatchProgress:
    """wait_for_batch, failing fast if a worker dies instead of waiting out the timeout."""
    task = asyncio.create_task(wait_for_batch(redis, f"{prefix}:", cid, timeout=1500))
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


async def settled_postgres(settings: Settings, schema: str) -> list[dict[str, Any]]:
    """Tracks joined to their current analysis, once every file is analysed."""
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
            return len(rows) >= FILES and all(r["analysis_file_id"] for r in rows)

        await wait_until(settled, 120)
    finally:
        await conn.close()
    return rows


async def settled_neo4j(settings: Settings, ns: str) -> dict[str, list[str]]:
    """file_id -> camelot of every IN_KEY edge, once every track has at least one."""
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
            return len(graph) >= FILES and all(graph.values())

        await wait_until(settled, 120)
    finally:
        await driver.close()
    return graph


async def completed_events(settings: Settings, prefix: str) -> Counter[str]:
    """How many AnalysisCompleted events the analysis topic holds per file."""
    records = await read_topic(settings.kafka_bootstrap_servers, analysis_topic(prefix), 120)
    return Counter(event.file_id for event in map(decode, (r.value for r in records))
                   if event.event_type == "AnalysisCompleted")
