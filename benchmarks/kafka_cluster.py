"""Kafka on one broker beside a three-node cluster at RF 3 (min ISR 2), and beside the same
cluster with one broker down, in the same run.

    .venv/bin/python -m benchmarks.kafka_cluster [--events 50000] [--latency-records 2000]
        [--files 120] [--skip-e2e]

Needs the single-broker stack (`make stack-up`). Starts its own cluster in
.stack/cluster-bench on the cluster ports (19092-19094, which the tests' cluster also uses:
not at the same time) and stops it afterwards. Targets, in this order: the single broker,
the cluster, the cluster with kafka-3 stopped (controlled shutdown), the single broker again
(its two passes bracket the cluster ones on this shared machine; their mean is the
reference). On each target:
 - produce latency at acks=all: `--latency-records` records at a steady 500/s from one
   idempotent producer with the project's producer settings, send to acknowledgement;
 - bridge events/s: the RabbitMQ queue filled with `--events` file events, then drained
   by the bridge (in this process) into the target's lanes;
 - end to end: bridge, analysis and projections workers (subprocesses, tracing off) on
   `--files` generated 6-s clips, from the first publish until the Redis batch is done.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer

from benchmarks.bridge_throughput import drain_with_bridge, fill_queue, make_events
from benchmarks.machine import write_result
from benchmarks.pipeline_common import (
    REPO,
    bench_worker,
    cleanup_namespace,
    long_corpus,
    new_prefix,
)
from infra.kafka_admin import ensure_topics
from infra.settings import get_settings
from infra.stack import manager, scratch_cluster
from infra.stack.kafka import cluster_bootstrap
from schemas.namespace import Namespace
from schemas.topics import TopicSpec

RATE_PER_S = 500
PARTITIONS = 6
TARGETS = {"e2e_cluster_over_single": 0.8}


@dataclass
class Target:
    name: str
    bootstrap: str
    replication_factor: int
    figures: dict[str, Any] = field(default_factory=dict)
    # The degraded pass: this node is down while measuring, but topics at RF 3 can only be
    # created with every broker up (creation refuses more replicas than live brokers).
    down: int | None = None
    paths: Any = None

    async def create_topics(self, **kwargs: Any) -> None:
        if self.down is not None:
            await asyncio.to_thread(manager.up, self.paths, [f"kafka-{self.down}"], print, 3)
        try:
            await ensure_topics(self.bootstrap, PARTITIONS,
                                replication_factor=self.replication_factor, **kwargs)
        finally:
            if self.down is not None:
                await asyncio.to_thread(manager.down, self.paths, [f"kafka-{self.down}"],
                                        print, 3)

    def worker_env(self) -> dict[str, str]:
        return {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap, "TRACKTION_TRACING": "off",
                "KAFKA_REPLICATION_FACTOR": str(self.replication_factor)}


async def produce_latency(target: Target, n: int) -> dict[str, float]:
    """Milliseconds from send() to acknowledgement, records paced at RATE_PER_S."""
    topic = f"bench.latency.{new_prefix('lat')}"
    await target.create_topics(specs=[TopicSpec(topic, "latency probe")])
    producer = AIOKafkaProducer(bootstrap_servers=target.bootstrap, acks="all",
                                enable_idempotence=True, linger_ms=5)
    await producer.start()
    latencies: list[float] = []
    pending: list[asyncio.Future[Any]] = []
    try:
        for i in range(n):
            sent = time.perf_counter()
            future = await producer.send(topic, b"x" * 600, key=f"file-{i % 97}".encode())
            future.add_done_callback(
                lambda _f, t=sent: latencies.append((time.perf_counter() - t) * 1e3))
            pending.append(future)
            await asyncio.sleep(1 / RATE_PER_S)
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    ordered = sorted(latencies)
    return {"p50_ms": round(ordered[len(ordered) // 2], 2),
            "p99_ms": round(ordered[int(len(ordered) * 0.99)], 2),
            "max_ms": round(ordered[-1], 2), "records": len(ordered)}


async def bridge_rate(target: Target, n: int) -> float:
    s = get_settings()
    prefix = new_prefix("kb")
    await target.create_topics(ns=Namespace(prefix))
    try:
        await fill_queue(s.rabbitmq_url, prefix, make_events(n))
        return await drain_with_bridge(s.rabbitmq_url, target.bootstrap, prefix, n)
    finally:
        await cleanup_namespace(prefix)


async def end_to_end(target: Target, files: list[Any]) -> dict[str, Any]:
    from projections.redis.progress import wait_for_batch
    from projections.redis.side_writes import record_expected_total
    from projections.redis.writer import connect
    from schemas.envelope import new_id
    from streams.publishing.publisher import publish_paths

    s = get_settings()
    prefix = new_prefix("ke")
    await target.create_topics(ns=Namespace(prefix))
    procs = [bench_worker(role, prefix, target.worker_env(), name=f"{role}-{target.name}")
             for role in ("bridge", "analysis", "projections")]
    redis = connect(s.redis_url)
    try:
        for proc in procs:
            proc.start()
        await asyncio.gather(*(p.wait_started() for p in procs))
        await asyncio.sleep(3)  # group joins settle before the clock starts
        cid = new_id()
        await record_expected_total(redis, f"{prefix}:", cid, len(files))
        started = time.monotonic()
        result = await publish_paths([files[0].parent], s, via="rabbitmq", ns=Namespace(prefix),
                                     correlation_id=cid)
        done = await wait_for_batch(redis, f"{prefix}:", cid, timeout=1800)
        wall = time.monotonic() - started
    finally:
        await redis.aclose()
        codes = {p.name: p.stop() for p in procs}
        await cleanup_namespace(prefix)
    return {"files": result.published, "succeeded": done.succeeded, "wall_s": round(wall, 1),
            "files_per_hour": round(done.succeeded / wall * 3600), "exit_codes": codes}


async def measure(target: Target, args: argparse.Namespace, files: list[Any]) -> None:
    print(f"[{target.name}] produce latency", flush=True)
    target.figures["produce_latency_acks_all"] = await produce_latency(
        target, args.latency_records)
    print(f"[{target.name}] bridge", flush=True)
    target.figures["bridge_events_per_s"] = round(await bridge_rate(target, args.events))
    if not args.skip_e2e:
        print(f"[{target.name}] end to end on {len(files)} files", flush=True)
        target.figures["end_to_end"] = await end_to_end(target, files)


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else 0.0


def summarise(passes: dict[str, Target]) -> dict[str, Any]:
    single = [passes["single"], passes["single_again"]]
    out: dict[str, Any] = {name: t.figures for name, t in passes.items()}
    ref_bridge = statistics.fmean(t.figures["bridge_events_per_s"] for t in single)
    out["ratios"] = {
        "bridge_cluster_over_single": ratio(passes["cluster"].figures["bridge_events_per_s"],
                                            ref_bridge),
        "bridge_one_down_over_single": ratio(
            passes["cluster_one_down"].figures["bridge_events_per_s"], ref_bridge)}
    if "end_to_end" in passes["single"].figures:
        ref = statistics.fmean(t.figures["end_to_end"]["files_per_hour"] for t in single)
        for name in ("cluster", "cluster_one_down"):
            out["ratios"][f"e2e_{name}_over_single"] = ratio(
                passes[name].figures["end_to_end"]["files_per_hour"], ref)
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    os.environ["TRACKTION_TRACING"] = "off"
    files, _ = long_corpus(args.files, seconds=6.0, name=f"clips{args.files}x6s")
    single = get_settings().kafka_bootstrap_servers
    paths = scratch_cluster.scratch_paths(REPO, "cluster-bench")
    started = time.monotonic()
    await asyncio.to_thread(scratch_cluster.start, paths, get_settings().stack_dir, print)
    cold_s = time.monotonic() - started
    passes: dict[str, Target] = {}
    try:
        for target in (Target("single", single, 1),
                       Target("cluster", cluster_bootstrap(3), 3)):
            await measure(target, args, files)
            passes[target.name] = target
        await asyncio.to_thread(manager.down, paths, ["kafka-3"], print, 3)
        degraded = Target("cluster_one_down", cluster_bootstrap(3), 3, down=3, paths=paths)
        await measure(degraded, args, files)
        passes[degraded.name] = degraded
        again = Target("single_again", single, 1)
        await measure(again, args, files)
        passes[again.name] = again
    finally:
        await asyncio.to_thread(scratch_cluster.stop, paths, print)
    return {"cluster_cold_start_s": round(cold_s, 1), "rate_per_s": RATE_PER_S,
            "partitions": PARTITIONS, "events": args.events, **summarise(passes),
            "targets": TARGETS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--latency-records", type=int, default=2000)
    parser.add_argument("--files", type=int, default=120)
    parser.add_argument("--skip-e2e", action="store_true")
    write_result("kafka_cluster", asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
