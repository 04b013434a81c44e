"""Benchmark of the Redis progress projection: Lua-batched writer vs one round trip per event.

100,000 analysis events (AnalysisStarted + AnalysisCompleted/Failed for 50,000 files) plus the
50,000 FileDiscovered events they follow. Measured in one run:
- batched: apply + write in runner-sized batches (500 events, one EVALSHA per batch);
- naive: the same script called once per event, on a subset (a full run would take minutes);
- kafka: end to end through ProjectionRunner.run_until_caught_up (decode included), if Kafka
  answers.
Prints JSON and writes benchmarks/results/projection_redis.json.

    .venv/bin/python benchmarks/projection_redis.py [--files 50000] [--naive-events 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import time
import uuid
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from infra.settings import Settings, get_settings
from projections.base import Checkpoints, Positioned, ProjectionSpec
from projections.redis.apply import RedisProgressProjector
from projections.redis.progress import read_batch
from projections.redis.writer import RedisProgressWriter, connect, delete_prefix
from schemas.analysis_events import (
    AnalysisCompleted,
    AnalysisCompletedPayload,
    AnalysisFailed,
    AnalysisFailedPayload,
    AnalysisStarted,
    AnalysisStartedPayload,
)
from schemas.codec import AnyEvent, encode
from schemas.envelope import file_id_for
from schemas.file_events import FileDiscovered, FileDiscoveredPayload, FileInfo
from tests.unit.schemas.samples import FEATURES as SAMPLE_FEATURES

ROOT = Path(__file__).resolve().parent.parent
TARGET_EPS = 5000
PARTITIONS = 12
# The schema tests' sample analysis, without a fingerprint (as the events measured so far).
FEATURES = msgspec.structs.replace(SAMPLE_FEATURES, fingerprint=None)


def make_events(cid: str, files: int) -> list[AnyEvent]:
    """All discoveries, then all starts, then all outcomes (1 in 20 fails).

    Phase order is the writer's worst case: no batch holds two events of one file, so the
    per-batch pre-merge in `apply` saves nothing and every event is a row for the script.
    """
    t0 = datetime.now(UTC)
    discovered: list[AnyEvent] = []
    started: list[AnyEvent] = []
    outcomes: list[AnyEvent] = []
    for i in range(files):
        rel = f"bench/{i:07d}.flac"
        fid, path, digest = file_id_for("/m", rel), f"/m/{rel}", f"{i:032x}"
        env: dict[str, Any] = {"file_id": fid, "correlation_id": cid}
        t = t0 + timedelta(milliseconds=i)
        info = FileInfo(path=path, library_root="/m", relative_path=rel, size=i,
                        mtime=0.0, content_hash=digest, format="flac")
        discovered.append(FileDiscovered.create(**env, occurred_at=t,
                                                payload=FileDiscoveredPayload(file=info)))
        started.append(AnalysisStarted.create(**env, occurred_at=t + timedelta(seconds=60),
                                              payload=AnalysisStartedPayload(path, digest, "w")))
        done_at = t + timedelta(seconds=61)
        if i % 20 == 0:
            outcomes.append(AnalysisFailed.create(**env, occurred_at=done_at, payload=(
                AnalysisFailedPayload(path, digest, "corrupt", "bad", 1))))
        else:
            outcomes.append(AnalysisCompleted.create(**env, occurred_at=done_at, payload=(
                AnalysisCompletedPayload(f"a{i}", path, digest, FEATURES, 10.0))))
    return discovered + started + outcomes


def position(events: Sequence[AnyEvent]) -> list[Positioned]:
    offsets = [0] * PARTITIONS
    out = []
    for e in events:
        p = zlib.crc32(e.file_id.encode()) % PARTITIONS
        out.append(Positioned(e, "bench.events", p, offsets[p]))
        offsets[p] += 1
    return out


def _checkpoints(batch: Sequence[Positioned]) -> Checkpoints:
    out: Checkpoints = {}
    for p in batch:
        out[(p.topic, p.partition)] = max(out.get((p.topic, p.partition), -1), p.offset)
    return out


async def run_writer(settings: Settings, items: Sequence[Positioned], batch_size: int,
                     prefix: str) -> tuple[float, float]:
    """(total, apply-only) seconds to apply and write `items` in batches of `batch_size`."""
    writer = RedisProgressWriter(connect(settings.redis_url), prefix)
    await writer.setup()
    projector = RedisProgressProjector()
    applying = 0.0
    start = time.perf_counter()
    for i in range(0, len(items), batch_size):
        batch = items[i:i + batch_size]
        t = time.perf_counter()
        intents = projector.apply(batch)
        applying += time.perf_counter() - t
        await writer.write(projector.name, intents, _checkpoints(batch))
    seconds = time.perf_counter() - start
    await writer.close()
    return seconds, applying


async def run_kafka(settings: Settings, events: Sequence[AnyEvent], prefix: str) -> dict[str, Any]:
    """Produce (untimed), then time ProjectionRunner catching up from offset 0."""
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    from projections.runner import ProjectionRunner

    topic = f"bench.redis.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    try:
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers,
                                    linger_ms=50, max_batch_size=1 << 20)
        await producer.start()
        futures = [await producer.send(topic, encode(e), key=e.file_id.encode())
                   for e in events]
        await asyncio.gather(*futures)
        await producer.stop()
        writer = RedisProgressWriter(connect(settings.redis_url), prefix)
        runner = ProjectionRunner(ProjectionSpec(RedisProgressProjector(), writer, "redis"),
                                  settings, [topic], group_id=f"bench-{topic}",
                                  batch_size=2000)
        start = time.perf_counter()
        try:
            applied = await runner.run_until_caught_up(timeout_s=300)
        except TimeoutError as exc:
            return {"error": str(exc), "applied_before_timeout": runner.applied}
        finally:
            await runner.stop()
        seconds = time.perf_counter() - start
    finally:
        await admin.delete_topics([topic])
        await admin.close()
    return {"events": applied, "seconds": round(seconds, 3), "runner_batch_size": 2000,
            "events_per_s": round(applied / seconds)}


def _kafka_up(settings: Settings) -> bool:
    host, _, port = settings.kafka_bootstrap_servers.split(",")[0].rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain"], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip())
    return {"cores": os.cpu_count(), "ram_gb": round(mem_kb / 1024**2, 1), "cpu_model": cpu,
            "python": platform.python_version(), "git_commit": commit, "git_dirty": dirty}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    settings = get_settings()
    cid = f"bench-{uuid.uuid4().hex[:8]}"
    events = make_events(cid, args.files)
    items = position(events)
    base = f"bench:{cid}:"
    redis = connect(settings.redis_url)
    try:
        batched_s, apply_s = await run_writer(settings, items, args.batch_size,
                                              base + "batched:")
        progress = await read_batch(redis, base + "batched:", cid)
        assert progress is not None and progress.done and progress.total == args.files
        # A stride over all phases, so the subset mixes new files and status changes.
        subset = items[::max(1, len(items) // args.naive_events)][:args.naive_events]
        naive_s, _ = await run_writer(settings, subset, 1, base + "naive:")
        kafka = (await run_kafka(settings, events, base + "kafka:")
                 if _kafka_up(settings) and not args.no_kafka else None)
        info = await redis.info("server")
    finally:
        await delete_prefix(redis, base)
        await redis.aclose()
    batched_eps, naive_eps = len(items) / batched_s, len(subset) / naive_s
    return {
        "benchmark": "projection_redis", "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python benchmarks/projection_redis.py", *args.argv]),
        "files": args.files, "events": len(items),
        "analysis_events": sum(not isinstance(e, FileDiscovered) for e in events),
        "batched": {"batch_size": args.batch_size, "seconds": round(batched_s, 3),
                    "events_per_s": round(batched_eps),
                    "apply_seconds": round(apply_s, 3)},
        "naive": {"events": len(subset), "seconds": round(naive_s, 3),
                  "events_per_s": round(naive_eps)},
        "ratio_batched_to_naive": round(batched_eps / naive_eps, 1),
        "kafka_end_to_end": kafka if kafka else "skipped (Kafka not reachable or --no-kafka)",
        "final_progress": {"total": progress.total, "succeeded": progress.succeeded,
                           "failed": progress.failed, "done": progress.done},
        "target_events_per_s": TARGET_EPS, "meets_target": batched_eps >= TARGET_EPS,
        "machine": {**machine(), "redis_version": info.get("redis_version")},
    }


if __name__ == "__main__":
    import sys

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--naive-events", type=int, default=10_000)
    parser.add_argument("--no-kafka", action="store_true")
    parsed = parser.parse_args()
    parsed.argv = sys.argv[1:]
    from infra.logging import configure_logging

    configure_logging("bench-projection-redis", "WARNING")  # logs to stderr: stdout is JSON
    result = asyncio.run(main(parsed))
    text = json.dumps(result, indent=2)
    print(text)
    (ROOT / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "benchmarks" / "results" / "projection_redis.json").write_text(text + "\n")
