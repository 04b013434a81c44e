"""The whole pipeline on a generated 300-file library: RabbitMQ, bridge, Faust agents with
Essentia, and all three projections; then metrics and the trace in Jaeger."""

from __future__ import annotations

import asyncio
import json
import random
import re
import urllib.request
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from neo4j import AsyncGraphDatabase

from infra.jaeger_query import fetch_trace, find_trace_ids, span_tree
from infra.settings import Settings
from infra.telemetry import flush_tracing, init_tracing
from projections.redis.progress import wait_for_batch
from projections.redis.side_writes import record_expected_total
from projections.redis.writer import connect
from schemas.namespace import Namespace
from streams.analysis.core import analyse_file
from streams.ops.worker_process import WorkerProcess
from streams.publishing.publisher import publish_paths
from tests.e2e.support import free_port, generated_corpus

PARTITIONS = 6  # the prefix fixture creates this many per topic
FILES = 300


@pytest.fixture(scope="module")
def corpus() -> Path:
    return generated_corpus("e2e300", FILES, seconds=8.0)


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        match = re.match(r"^([a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$", line)
        if match:
            out[match.group(1)] = float(match.group(2))
    return out


async def test_library_flows_through_every_component(settings: Settings, prefix: str,
                                                     corpus: Path, tmp_path: Path) -> None:
    port = free_port()
    worker = WorkerProcess("all", prefix, tmp_path / "worker.log", port=port)
    worker.start()
    try:
        init_tracing("tracktion-publish", settings.otel_exporter_otlp_endpoint)
        redis = connect(settings.redis_url)
        result = await publish_paths([corpus], settings, via="rabbitmq",
                                     ns=Namespace(prefix))
        assert (result.files, result.published) == (FILES, FILES)
        await record_expected_total(redis, f"{prefix}:", result.correlation_id, FILES)
        progress = await wait_for_batch(redis, f"{prefix}:", result.correlation_id, timeout=900)
        await redis.aclose()
        assert (progress.total, progress.succeeded, progress.failed) == (FILES, FILES, 0)
        await asyncio.sleep(3)  # let the other two projections finish their last batch
        metrics = scrape(port)
        rows = await postgres_tracks(settings, prefix)
        graph = await neo4j_tracks(settings, prefix)
    finally:
        assert worker.terminate(timeout=90) == 0, "worker did not shut down cleanly"
    flush_tracing()  # not shutdown: the provider is process-wide and other tests follow

    assert len(rows) == FILES and {r["status"] for r in rows} == {"analysed"}
    assert graph == {r["file_id"]: r["camelot"] for r in rows}
    # The pipeline's numbers are exactly what the analyser gives for the file on its own.
    for row in random.Random(1).sample(rows, 8):
        direct = analyse_file(row["path"])
        assert (row["bpm"], row["camelot"]) == (pytest.approx(direct.bpm, abs=0.01),
                                                direct.camelot)
    assert sum(v for k, v in metrics.items()
               if k.startswith("analysis_files_processed_total")) == FILES
    for store in ("postgres", "neo4j", "redis"):
        applied = metrics[f'projection_events_applied_total{{projection="{store}"}}']
        assert applied >= 3 * FILES  # discovered + started + completed per file
    await assert_trace_covers_the_pipeline(settings, result.correlation_id)


async def postgres_tracks(settings: Settings, schema: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    try:
        records = await conn.fetch(
            f"SELECT file_id, path, status, bpm, camelot FROM {schema}.tracks")
    finally:
        await conn.close()
    return [dict(r) for r in records]


async def neo4j_tracks(settings: Settings, ns: str) -> dict[str, str]:
    driver = AsyncGraphDatabase.driver(settings.neo4j_uri,
                                       auth=(settings.neo4j_user, settings.neo4j_password))
    try:
        records, _, _ = await driver.execute_query(
            "MATCH (t:Track {ns: $ns})-[:IN_KEY]->(k:Key) RETURN t.file_id AS id, "
            "k.camelot AS camelot", ns=ns)
    finally:
        await driver.close()
    return {r["id"]: r["camelot"] for r in records}


async def assert_trace_covers_the_pipeline(settings: Settings, correlation_id: str) -> None:
    base = settings.jaeger_query_url
    names: set[str] = set()
    roots: list[Any] = []
    # The tracer provider is process-wide: whichever test set it first named the service,
    # so the publish spans are looked up under the publisher's name the tests all use.
    for _ in range(30):
        ids = find_trace_ids(base, {"correlation_id": correlation_id}, limit=5,
                             services=("tracktion-publish",))
        if ids:
            roots = span_tree(fetch_trace(base, ids[0]))
            names = set()
            stack = list(roots)
            while stack:
                node = stack.pop()
                names.add(f"{node.service}:{node.name}")
                stack.extend(node.children)
            if len(roots) == 1 and {"project postgres", "project neo4j", "project redis"} <= {
                    n.split(":", 1)[1] for n in names}:
                break
        await asyncio.sleep(1)
    assert len(roots) == 1, f"trace is not one tree: {json.dumps(sorted(names))}"
    ops = {n.split(":", 1)[1] for n in names}
    assert {"publish FileDiscovered", "bridge rabbitmq->kafka", "analyse", "process_pool",
            "project postgres", "project neo4j", "project redis"} <= ops, sorted(names)
