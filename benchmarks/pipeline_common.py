"""Shared pieces of the pipeline benchmarks: the cached long-track corpus, worker
subprocesses (`tracktion worker --role ...`), direct Kafka publishing of analysis requests,
per-file latencies from the Postgres read model, and namespace clean-up.

Every benchmark runs in its own namespace (topic prefix = Postgres schema = Neo4j ns =
Redis key prefix = RabbitMQ queue), so it never touches the live system or other runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from schemas.envelope import Priority
    from streams.ops.worker_process import WorkerProcess

REPO = Path(__file__).resolve().parent.parent
CORPUS_ROOT = REPO / ".stack" / "bench-corpus"
LOG_DIR = REPO / ".stack" / "bench-logs"
DEFAULT_SEED = 2040


def new_prefix(tag: str) -> str:
    """A fresh namespace: lower-case identifier, valid as schema, topic prefix and queue."""
    return f"pb{tag}{uuid.uuid4().hex[:8]}"


def long_corpus(count: int, seconds: float = 200.0, seed: int = DEFAULT_SEED,
                name: str | None = None) -> tuple[list[Path], float]:
    """`count` generated tracks of `seconds` in .stack/bench-corpus/long<count> (cached).

    Returns the files and the seconds spent generating them now (0.0 when cached).
    """
    from infra.corpus.generate import LABELS_FILE, generate_corpus, load_labels

    folder = CORPUS_ROOT / (name or f"long{count}")
    labels_path = folder / LABELS_FILE
    if labels_path.exists():
        doc = json.loads(labels_path.read_text())
        if (doc["count"], doc["seconds"], doc["seed"]) == (count, seconds, seed):
            return [Path(t["path"]) for t in load_labels(folder)], 0.0
    started = time.monotonic()
    generate_corpus(folder, count=count, seconds=seconds, seed=seed)
    return [Path(t["path"]) for t in load_labels(folder)], time.monotonic() - started


def short_clips(count: int = 4, seconds: float = 8.0) -> list[Path]:
    """A few real short files (cached) for the synthetic-backlog benchmarks."""
    files, _ = long_corpus(count, seconds=seconds, seed=DEFAULT_SEED,
                           name=f"clips{count}x{seconds:g}s")
    return files


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_worker(role: str, prefix: str, env: dict[str, str] | None = None,
                 name: str | None = None) -> WorkerProcess:
    """A worker subprocess logging to .stack/bench-logs/<prefix>-<name>.log, on a free port."""
    from streams.ops.worker_process import WORKER_MODULE, WorkerProcess

    name = name or role
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    # With Faust overrides, an experiment launcher applies them (benchmarks only).
    module = ("benchmarks.pipeline_patched_worker"
              if "BENCH_FAUST_OVERRIDES" in {**os.environ, **(env or {})} else WORKER_MODULE)
    return WorkerProcess(role, prefix, LOG_DIR / f"{prefix}-{name}.log", env=env,
                         port=free_port(), module=module, name=name)


def request_event(infos: list[Any], i: int, tag: str, cid: str,
                  priority: Priority = "normal") -> Any:
    """AnalysisRequested(force=True) number `i`: file id `/<tag>/<i>`, content cycling over
    `infos` (force bypasses the result cache, so each one is really analysed)."""
    from schemas.envelope import file_id_for
    from schemas.file_events import AnalysisRequested, AnalysisRequestedPayload

    return AnalysisRequested.create(
        file_id=file_id_for(f"/{tag}", f"{i:06}"), correlation_id=cid, priority=priority,
        payload=AnalysisRequestedPayload(file=infos[i % len(infos)], reason="reanalyse",
                                         force=True))


def open_sink(bootstrap: str, prefix: str, via: str) -> Any:
    """A publishing sink straight to the Kafka lanes, or through RabbitMQ and the bridge."""
    from schemas.namespace import Namespace
    from streams.publishing.sinks import KafkaSink, RabbitSink

    if via == "kafka":
        return KafkaSink(bootstrap, Namespace(prefix))
    from infra.settings import get_settings

    return RabbitSink(get_settings().rabbitmq_url, Namespace(prefix))


async def publish_requests(bootstrap: str, prefix: str, files: list[Path], n: int,
                           priority: Priority = "normal", start: int = 0, tag: str = "req",
                           correlation_id: str | None = None, via: str = "kafka") -> str:
    """`n` analysis requests (`request_event`) for distinct file ids over the real `files`."""
    from streams.publishing.fileinfo import read_file_info
    from streams.publishing.sinks import event_headers

    infos = [read_file_info(f.parent, f) for f in files]
    cid = correlation_id or f"{tag}-{uuid.uuid4().hex[:8]}"
    sink = open_sink(bootstrap, prefix, via)
    await sink.start()
    try:
        for i in range(start, start + n):
            event = request_event(infos, i, tag, cid, priority)
            await sink.send(event, event_headers(event, {}))
        await sink.flush()
    finally:
        await sink.close()
    return cid


class Completions:
    """Reads the analysis topic from the start and records each AnalysisCompleted."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self.done: dict[str, tuple[str, float]] = {}  # file_id -> (worker, occurred_at)
        self.failed = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        from aiokafka import AIOKafkaConsumer
        from aiokafka.structs import TopicPartition

        from infra.kafka_admin import partition_ids
        from schemas.analysis_events import AnalysisCompleted, AnalysisFailed
        from schemas.codec import decode

        parts = await partition_ids(self.bootstrap, self.topic)
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            tps = [TopicPartition(self.topic, p) for p in parts]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            while True:
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    for record in records:
                        event = decode(record.value)
                        if isinstance(event, AnalysisCompleted):
                            self.done[event.file_id] = (event.payload.worker,
                                                        event.occurred_at.timestamp())
                        elif isinstance(event, AnalysisFailed):
                            self.failed += 1
        finally:
            await consumer.stop()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def pg_connect() -> Any:
    import asyncpg

    from infra.settings import get_settings

    return await asyncpg.connect(get_settings().database_url.replace("+asyncpg", ""))


async def pg_latencies(schema: str) -> list[dict[str, Any]]:
    """Per analysed file: publish time (first event), completion time, processing_ms."""
    conn = await pg_connect()
    try:
        rows = await conn.fetch(
            f"SELECT t.file_id, t.created_at, a.occurred_at, a.processing_ms, a.worker "
            f"FROM {schema}.tracks t JOIN {schema}.analyses a "
            f"ON a.analysis_id = t.current_analysis_id")
    finally:
        await conn.close()
    return [dict(r) for r in rows]


async def projected_counts(prefix: str) -> tuple[int, int]:
    """(Postgres tracks analysed, Neo4j tracks linked to a key) in namespace `prefix`."""
    from neo4j import AsyncGraphDatabase

    from infra.settings import get_settings
    from schemas.status import TrackStatus

    s = get_settings()
    conn = await pg_connect()
    try:
        pg = await conn.fetchval(
            f"SELECT count(*) FROM {prefix}.tracks WHERE status = '{TrackStatus.ANALYSED}'")
    except Exception:  # schema not created yet
        pg = 0
    finally:
        await conn.close()
    driver = AsyncGraphDatabase.driver(s.neo4j_uri, auth=(s.neo4j_user, s.neo4j_password))
    try:
        records, _, _ = await driver.execute_query(
            "MATCH (t:Track {ns: $ns})-[:IN_KEY]->(:Key) RETURN count(t) AS n", ns=prefix)
    finally:
        await driver.close()
    return int(pg or 0), int(records[0]["n"])


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return {"p50": round(pick(0.5), 3), "p95": round(pick(0.95), 3),
            "max": round(ordered[-1], 3), "mean": round(statistics.fmean(ordered), 3)}


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


async def cleanup_namespace(prefix: str) -> None:
    """Drop everything the run created under `prefix`; each step is best effort."""
    from infra.settings import get_settings
    from schemas.namespace import Namespace
    from streams.ops.namespace import drop_namespace

    for store, exc in (await drop_namespace(get_settings(), Namespace(prefix))).items():
        # clean-up must not hide the result
        print(f"cleanup {store} of {prefix}: {type(exc).__name__}: {exc}", file=sys.stderr)
