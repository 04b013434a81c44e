"""Kafka on one broker beside a three-node cluster at RF 3 (min ISR 2), and beside the same
cluster with one broker down, in the same run.

    .venv/bin/python -m benchmarks.kafka_cluster [--events 50000] [--latency-records 2000]
        [--files 120] [--rounds 3] [--skip-e2e]

Needs the single-broker stack (`make stack-up`). Starts its own cluster in
.stack/cluster-bench on the cluster ports (19092-19094, which the tests' cluster also uses:
not at the same time) and stops it afterwards. First an untimed warm-up of every broker;
then `--rounds` pairs of passes, the single broker and the cluster (RF 3, min ISR 2), in
alternated order (single, cluster / cluster, single / ...) so that neither always runs
first or last on this shared machine; last, the cluster with kafka-3 stopped (controlled
shutdown). Ratios are of the means over the passes, each round's ratio beside them. On
each pass:
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


def e2e_rate(target: Target) -> float:
    return float(target.figures["end_to_end"]["files_per_hour"])


def bridge(target: Target) -> float:
    return float(target.figures["bridge_events_per_s"])


def summarise(passes: list[Target], with_e2e: bool) -> dict[str, Any]:
    """Ratios of means over the passes of each target, and each round's own ratio (a round is
    one single-broker pass and the cluster pass beside it), so the spread is visible."""
    single = [t for t in passes if t.name == "single"]
    cluster = [t for t in passes if t.name == "cluster"]
    degraded = [t for t in passes if t.name == "cluster_one_down"]
    metrics = [("bridge", bridge)] + ([("e2e", e2e_rate)] if with_e2e else [])
    ratios: dict[str, Any] = {}
    for label, metric in metrics:
        ref = statistics.fmean(metric(t) for t in single)
        ratios[f"{label}_cluster_over_single"] = ratio(
            statistics.fmean(metric(t) for t in cluster), ref)
        ratios[f"{label}_cluster_over_single_per_round"] = [
            ratio(metric(c), metric(s)) for s, c in zip(single, cluster, strict=True)]
        ratios[f"{label}_cluster_one_down_over_single"] = ratio(
            statistics.fmean(metric(t) for t in degraded), ref)
    return {"passes": [{"target": t.name, **t.figures} for t in passes], "ratios": ratios}


def round_order(rounds: int) -> list[str]:
    """single, cluster / cluster, single / ...: alternated, so that neither target always
    runs first (after a cold start) or last (after the box has been busy longest)."""
    order: list[str] = []
    for r in range(rounds):
        order += ["single", "cluster"] if r % 2 == 0 else ["cluster", "single"]
    return order


async def warm_up(targets: list[Target], args: argparse.Namespace) -> None:
    """Untimed produce and bridge traffic on every broker first: a JVM fresh from a cold
    start runs its first minutes interpreted, which the first pass would otherwise pay."""
    for target in targets:
        print(f"[{target.name}] warm-up (untimed)", flush=True)
        await produce_latency(target, max(200, args.latency_records // 4))
        await bridge_rate(target, max(2000, args.events // 4))


async def run(args: argparse.Namespace) -> dict[str, Any]:
    os.environ["TRACKTION_TRACING"] = "off"
    files, _ = long_corpus(args.files, seconds=6.0, name=f"clips{args.files}x6s")
    single = get_settings().kafka_bootstrap_servers
    paths = scratch_cluster.scratch_paths(REPO, "cluster-bench")
    started = time.monotonic()
    await asyncio.to_thread(scratch_cluster.start, paths, get_settings().stack_dir, print)
    cold_s = time.monotonic() - started

    def make(name: str) -> Target:
        if name == "single":
            return Target("single", single, 1)
        return Target("cluster", cluster_bootstrap(3), 3)

    passes: list[Target] = []
    try:
        await warm_up([make("single"), make("cluster")], args)
        for name in round_order(args.rounds):
            target = make(name)
            await measure(target, args, files)
            passes.append(target)
        # Last, because stopping a node and restarting it would disturb the rounds above.
        await asyncio.to_thread(manager.down, paths, ["kafka-3"], print, 3)
        degraded = Target("cluster_one_down", cluster_bootstrap(3), 3, down=3, paths=paths)
        await measure(degraded, args, files)
        passes.append(degraded)
    finally:
        await asyncio.to_thread(scratch_cluster.stop, paths, print)
    return {"cluster_cold_start_s": round(cold_s, 1), "rate_per_s": RATE_PER_S,
            "partitions": PARTITIONS, "events": args.events, "files": args.files,
            "rounds": args.rounds, "order": [*round_order(args.rounds), "cluster_one_down"],
            **summarise(passes, with_e2e=not args.skip_e2e), "targets": TARGETS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--latency-records", type=int, default=2000)
    parser.add_argument("--files", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=3,
                        help="single/cluster pairs, in alternated order")
    parser.add_argument("--skip-e2e", action="store_true")
    write_result("kafka_cluster", asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
