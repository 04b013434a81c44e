"""Burst and sustained load: 5,000 events at once, then a steady stream for 10 minutes.

    .venv/bin/python -m benchmarks.pipeline_load [--burst 5000] [--duration 600]
        [--rate-fraction 0.6 | --rate N] [--warmup 120] [--sample 10] [--part burst,sustained]

Both parts run the whole pipeline as deployed on one machine: bridge, analysis and
projections workers (default settings, tracing on) in their own namespace; every event
enters through RabbitMQ as `AnalysisRequested(force=True)` for a distinct file id, the
content cycling over 4 real 8-second clips. Short clips are the hard case for queues and
memory: the most events per second per core, so buffering and per-event overheads show.

(a) burst: `--burst` events published at once. How long the front door takes to accept
    them, how long until all are in Kafka (bridged), analysed (`AnalysisCompleted` on the
    analysis topic) and projected (Postgres and Neo4j rows, Redis batch done); consumer lag
    of every group, the RabbitMQ queue and RSS of every process sampled every `--sample` s.
(b) sustained: a fresh set of workers, then a steady `--rate` events/s for `--duration` s
    (default: `--rate-fraction` of the end-to-end throughput the burst just measured, so
    the load is the same share of capacity on any machine). Sampled the same way, plus the
    publish-to-analysed latency of the files published in each sample window. After
    `--warmup` s the run is judged for growth by a least-squares line through the samples:
      - lag: the line's rise over the window is below `rate x LAG_RISE_S` events (less than
        LAG_RISE_S seconds of extra queueing), for the analysis group and each projection;
      - memory: the rise of each process's RSS (worker mains, largest pool child) is below
        max(MEM_RISE_FRACTION of its level, MEM_RISE_MB);
      - latency: the p95 of the last post-warm-up minute is within LATENCY_RISE x the first.
    Every series is in the JSON, so the verdict can be checked by eye.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from benchmarks.machine import write_result
from benchmarks.pipeline_common import (
    Completions,
    bench_worker,
    cleanup_namespace,
    load_avg,
    new_prefix,
    open_sink,
    percentiles,
    projected_counts,
    request_event,
    short_clips,
)
from benchmarks.pipeline_procs import (
    TreeMonitor,
    cpu_snapshot,
    machine_cpu,
    machine_cpu_delta,
    service_rss_mb,
    top_consumers,
)
from infra.polling import poll_until
from streams.ops.worker_process import WorkerProcess

LAG_RISE_S = 10.0
MEM_RISE_FRACTION = 0.05
MEM_RISE_MB = 15.0
LATENCY_RISE = 2.0
ROLES = ("bridge", "analysis", "projections")
STORES = ("postgres", "neo4j", "redis")


@dataclass
class Sample:
    t_s: float
    published: int
    analysed: int
    failed: int
    rabbitmq_ready: int
    lag: dict[str, int]
    rss_mb: dict[str, float]


@dataclass
class Pipeline:
    """The three worker processes of one namespace, and what watches them."""

    prefix: str
    procs: list[WorkerProcess] = field(default_factory=list)
    monitor: TreeMonitor | None = None
    completions: Completions | None = None

    async def start(self) -> None:
        from infra.kafka_admin import ensure_topics
        from infra.settings import get_settings
        from schemas.namespace import Namespace

        s = get_settings()
        await ensure_topics(s.kafka_bootstrap_servers, s.kafka_partitions,
                            Namespace(self.prefix))
        self.procs = [bench_worker(role, self.prefix) for role in ROLES]
        for proc in self.procs:
            proc.start()
        self.monitor = TreeMonitor({p.role: p.pid for p in self.procs}, interval_s=1.0)
        self.monitor.start()
        await asyncio.gather(*(p.wait_started() for p in self.procs))
        await asyncio.sleep(3)  # group joins settle before the clock starts
        self.completions = Completions(s.kafka_bootstrap_servers,
                                       Namespace(self.prefix).analysis_topic)
        self.completions.start()

    async def stop(self) -> dict[str, int | None]:
        if self.completions is not None:
            await self.completions.stop()
        if self.monitor is not None:
            self.monitor.stop()  # before the workers: a child exiting at shutdown is no recycle
        codes = {p.role: p.stop() for p in self.procs}
        await cleanup_namespace(self.prefix)
        return codes

    @property
    def analysed(self) -> int:
        return 0 if self.completions is None else len(self.completions.done)

    @property
    def failed(self) -> int:
        return 0 if self.completions is None else self.completions.failed

    def rss_now(self) -> dict[str, float]:
        """Latest RSS per role's main process and its largest pool child."""
        assert self.monitor is not None
        latest: dict[str, tuple[float, float]] = {}
        for _, role, main, pool in self.monitor.series[-2 * len(ROLES):]:
            latest[role] = (main, pool)
        out = {f"{role}_main": main for role, (main, _) in latest.items()}
        out["analysis_pool_child"] = latest.get("analysis", (0.0, 0.0))[1]
        return out


class Gauges:
    """Consumer lag of every group of the namespace and the RabbitMQ queue depth."""

    def __init__(self, prefix: str) -> None:
        from schemas.namespace import Namespace

        self.prefix = prefix
        ns = Namespace(prefix)
        lanes = list(ns.lane_topics)
        self.groups = {"analysis": (ns.analysis_group, lanes),
                       **{store: (ns.projection_group(store), list(ns.source_topics))
                          for store in STORES}}
        self.lanes = lanes
        self._admin: Any = None
        self._consumer: Any = None
        self._rabbit: Any = None
        self._channel: Any = None

    async def start(self) -> None:
        import aio_pika
        from aiokafka import AIOKafkaConsumer
        from aiokafka.admin import AIOKafkaAdminClient

        from infra.settings import get_settings

        s = get_settings()
        self._admin = AIOKafkaAdminClient(bootstrap_servers=s.kafka_bootstrap_servers)
        self._consumer = AIOKafkaConsumer(bootstrap_servers=s.kafka_bootstrap_servers)
        await self._admin.start()
        await self._consumer.start()
        self._rabbit = await aio_pika.connect(s.rabbitmq_url)
        self._channel = await self._rabbit.channel()

    async def close(self) -> None:
        await self._consumer.stop()
        await self._admin.close()
        await self._rabbit.close()

    async def lag(self) -> dict[str, int]:
        from streams.worker.lag import group_lag

        out = {}
        for name, (group, topics) in self.groups.items():
            rows = await group_lag(self._admin, self._consumer.end_offsets, group, topics)
            out[name] = sum(max(0, end - pos) for _, _, end, pos in rows)
        return out

    async def bridged(self) -> int:
        """Events in the Kafka lanes (every one came through the bridge)."""
        from aiokafka.structs import TopicPartition

        await self._consumer.topics()
        tps = [TopicPartition(t, p) for t in self.lanes
               for p in self._consumer.partitions_for_topic(t) or ()]
        ends = await self._consumer.end_offsets(tps)
        return int(sum(ends.values()))

    async def rabbitmq_ready(self) -> int:
        from infra.amqp import Topology, declare
        from schemas.namespace import Namespace

        _, queue = await declare(self._channel, Topology(Namespace(self.prefix)))
        return int(queue.declaration_result.message_count or 0)


async def sample(t0: float, published: int, pipe: Pipeline, gauges: Gauges) -> Sample:
    return Sample(t_s=round(time.monotonic() - t0, 1), published=published,
                  analysed=pipe.analysed, failed=pipe.failed,
                  rabbitmq_ready=await gauges.rabbitmq_ready(), lag=await gauges.lag(),
                  rss_mb=pipe.rss_now())


def file_infos() -> list[Any]:
    from streams.publishing.fileinfo import read_file_info

    return [read_file_info(f.parent, f) for f in short_clips()]


def machine_window() -> dict[str, Any]:
    return {"cpu": machine_cpu(), "snapshot": cpu_snapshot(), "load": load_avg(),
            "services_rss_mb": service_rss_mb()}


def noise(before: dict[str, Any], after: dict[str, Any], pipe: Pipeline) -> dict[str, Any]:
    """Machine CPU in the window, what our processes used, and who else used it."""
    assert pipe.monitor is not None
    delta = machine_cpu_delta(before["cpu"], after["cpu"], pipe.monitor.total_cpu_s())
    return {"machine": delta,
            "top_other_cpu_s": top_consumers(before["snapshot"], after["snapshot"],
                                             pipe.monitor.pids() | {os.getpid()},
                                             delta["capacity_cpu_s"]),
            "load_avg_before_after": [before["load"], after["load"]],
            "services_rss_mb_before_after": [before["services_rss_mb"],
                                             after["services_rss_mb"]]}


def process_report(pipe: Pipeline) -> dict[str, Any]:
    assert pipe.monitor is not None
    report = pipe.monitor.report()
    return {role: {"cpu_s": r["cpu_s"],
                   "peak_rss_mb": max((p["peak_rss_mb"] for p in r["processes"]), default=0.0),
                   "pool_children_seen": sum(p["kind"] == "pool" for p in r["processes"]),
                   "pool_children_exited": sum(p["kind"] == "pool" and p["exited_during_run"]
                                               for p in r["processes"])}
            for role, r in report.items()}


async def burst(n: int, interval_s: float, timeout_s: float) -> dict[str, Any]:
    from infra.settings import get_settings
    from projections.redis.progress import read_batch
    from projections.redis.side_writes import record_expected_total
    from projections.redis.writer import connect
    from streams.publishing.sinks import event_headers

    s = get_settings()
    infos = file_infos()
    prefix = new_prefix("burst")
    pipe, gauges = Pipeline(prefix), Gauges(prefix)
    samples: list[Sample] = []
    marks: dict[str, float] = {}
    redis = connect(s.redis_url)
    try:
        await pipe.start()
        await gauges.start()
        cid = f"burst-{prefix}"
        await record_expected_total(redis, f"{prefix}:", cid, n)
        events = [request_event(infos, i, "burst", cid) for i in range(n)]
        sink = open_sink(s.kafka_bootstrap_servers, prefix, "rabbitmq")
        await sink.start()
        before = machine_window()
        t0, t0_wall = time.monotonic(), time.time()
        try:
            for event in events:
                await sink.send(event, event_headers(event, {}))
            await sink.flush()
        finally:
            await sink.close()
        marks["published"] = time.monotonic() - t0
        print(f"burst: {n} published in {marks['published']:.1f}s", file=sys.stderr)

        async def tick() -> bool:
            now = time.monotonic() - t0
            if "bridged" not in marks and await gauges.bridged() >= n:
                marks["bridged"] = now
            if "analysed" not in marks and pipe.analysed + pipe.failed >= n:
                marks["analysed"] = now
            if "analysed" in marks and "projected" not in marks:
                progress = await read_batch(redis, f"{prefix}:", cid)
                if progress is not None and progress.done and \
                        await projected_counts(prefix) == (n, n):
                    marks["projected"] = now
            if not samples or now - samples[-1].t_s >= interval_s:
                samples.append(await sample(t0, n, pipe, gauges))
                print(f"burst t={samples[-1].t_s}s analysed={samples[-1].analysed} "
                      f"lag={samples[-1].lag}", file=sys.stderr, flush=True)
            return "projected" in marks

        finished = await poll_until(tick, timeout_s, 0.5) is not None
        samples.append(await sample(t0, n, pipe, gauges))
        after = machine_window()
        progress = await read_batch(redis, f"{prefix}:", cid)
    finally:
        await redis.aclose()
        await gauges.close()
        codes = await pipe.stop()
    assert pipe.completions is not None
    done_at = sorted(t for _, t in pipe.completions.done.values())
    wall_span = done_at[-1] - done_at[0] if len(done_at) > 1 else 0.0
    return {
        "events": n, "finished": finished, "timeout_s": timeout_s,
        "seconds_after_first_publish": {k: round(v, 2) for k, v in marks.items()},
        "front_door_events_per_s": round(n / marks["published"]),
        "analysed": pipe.analysed, "failed": pipe.failed,
        "redis_batch": None if progress is None else progress.to_json(),
        "analysed_per_s_first_to_last": round((len(done_at) - 1) / wall_span, 2)
        if wall_span else None,
        "end_to_end_files_per_s": round(n / marks["projected"], 2)
        if "projected" in marks else None,
        # how long each file waited: first publish to its AnalysisCompleted
        "publish_to_analysed_s": percentiles([t - t0_wall for t in done_at]),
        "peak_lag": {g: max(x.lag[g] for x in samples) for g in samples[0].lag},
        "peak_rabbitmq_ready": max(x.rabbitmq_ready for x in samples),
        "processes": process_report(pipe),
        "samples": [vars(x) for x in samples],
        **noise(before, after, pipe), "exit_codes": codes,
    }


def fit_rise(points: list[tuple[float, float]]) -> float:
    """Rise over the window of the least-squares line through `points` (t, value)."""
    if len(points) < 3:
        return 0.0
    ts = [t for t, _ in points]
    slope = statistics.linear_regression(ts, [v for _, v in points]).slope
    return slope * (ts[-1] - ts[0])


def judge(samples: list[Sample], warmup_s: float, rate: float,
          latency_windows: list[dict[str, Any]]) -> dict[str, Any]:
    steady = [x for x in samples if x.t_s >= warmup_s]
    lag_limit = rate * LAG_RISE_S
    lag = {}
    for group in steady[0].lag:
        rise = fit_rise([(x.t_s, x.lag[group]) for x in steady])
        lag[group] = {"rise": round(rise, 1), "limit": round(lag_limit, 1),
                      "mean": round(statistics.fmean(x.lag[group] for x in steady), 1),
                      "max": max(x.lag[group] for x in steady), "grows": rise > lag_limit}
    memory = {}
    for proc in steady[0].rss_mb:
        series = [(x.t_s, x.rss_mb[proc]) for x in steady if x.rss_mb.get(proc)]
        if not series:
            continue
        level = statistics.fmean(v for _, v in series)
        rise = fit_rise(series)
        limit = max(MEM_RISE_FRACTION * level, MEM_RISE_MB)
        memory[proc] = {"rise_mb": round(rise, 1), "limit_mb": round(limit, 1),
                        "mean_mb": round(level, 1),
                        "min_max_mb": [min(v for _, v in series), max(v for _, v in series)],
                        "grows": rise > limit}
    timed = [w for w in latency_windows if w["published_from_s"] >= warmup_s and w["files"]]
    first, last = (timed[0], timed[-1]) if timed else ({}, {})
    latency_grows = bool(timed) and last["p95_s"] > LATENCY_RISE * max(first["p95_s"], 0.5)
    return {"warmup_s": warmup_s, "samples_judged": len(steady), "lag": lag,
            "memory": memory,
            "latency_p95_first_last_window_s": [first.get("p95_s"), last.get("p95_s")],
            "latency_grows": latency_grows,
            "stable": not latency_grows and not any(v["grows"] for v in lag.values())
            and not any(v["grows"] for v in memory.values())}


def latency_windows(published_at: list[float], pipe: Pipeline, t0_wall: float,
                    width_s: float = 60.0) -> list[dict[str, Any]]:
    """Per minute of publishing: publish-to-AnalysisCompleted latency of its files."""
    from schemas.envelope import file_id_for

    assert pipe.completions is not None
    buckets: dict[int, list[float]] = {}
    missing: dict[int, int] = {}
    for i, t_pub in enumerate(published_at):
        bucket = int((t_pub - t0_wall) // width_s)
        done = pipe.completions.done.get(file_id_for("/steady", f"{i:06}"))
        if done is None:
            missing[bucket] = missing.get(bucket, 0) + 1
        else:
            buckets.setdefault(bucket, []).append(done[1] - t_pub)
    out = []
    for bucket in sorted(set(buckets) | set(missing)):
        stats = percentiles(buckets.get(bucket, []))
        out.append({"published_from_s": bucket * width_s, "files": len(buckets.get(bucket, [])),
                    "not_analysed": missing.get(bucket, 0),
                    "p50_s": stats.get("p50"), "p95_s": stats.get("p95"),
                    "max_s": stats.get("max")})
    return out


async def sustained(rate: float, duration_s: float, warmup_s: float, interval_s: float,
                    drain_timeout_s: float) -> dict[str, Any]:
    from infra.settings import get_settings
    from streams.publishing.sinks import event_headers

    s = get_settings()
    infos = file_infos()
    prefix = new_prefix("steady")
    pipe, gauges = Pipeline(prefix), Gauges(prefix)
    samples: list[Sample] = []
    published_at: list[float] = []
    cid = f"steady-{prefix}"
    try:
        await pipe.start()
        await gauges.start()
        sink = open_sink(s.kafka_bootstrap_servers, prefix, "rabbitmq")
        await sink.start()
        before = machine_window()
        t0, t0_wall = time.monotonic(), time.time()
        try:
            # Paced by the clock, not by sleeps: a slow sample never lowers the rate.
            while (now := time.monotonic() - t0) < duration_s:
                for i in range(len(published_at), int(rate * now)):
                    event = request_event(infos, i, "steady", cid)
                    await sink.send(event, event_headers(event, {}))
                    published_at.append(time.time())
                if not samples or now - samples[-1].t_s >= interval_s:
                    samples.append(await sample(t0, len(published_at), pipe, gauges))
                    x = samples[-1]
                    print(f"steady t={x.t_s}s published={x.published} analysed={x.analysed} "
                          f"lag={x.lag} rss={x.rss_mb}", file=sys.stderr, flush=True)
                await asyncio.sleep(0.1)
            await sink.flush()
        finally:
            await sink.close()
        total = len(published_at)
        after = machine_window()

        async def drained() -> bool:
            return pipe.analysed + pipe.failed >= total

        t_end = time.monotonic()
        all_done = await poll_until(drained, drain_timeout_s, 0.5) is not None
        drain_s = time.monotonic() - t_end
        windows = latency_windows(published_at, pipe, t0_wall)
    finally:
        await gauges.close()
        codes = await pipe.stop()
    return {
        "rate_per_s": round(rate, 2), "duration_s": duration_s, "published": total,
        "analysed": pipe.analysed, "failed": pipe.failed, "drained_after_stop": all_done,
        "drain_s_after_last_publish": round(drain_s, 1),
        "verdict": judge(samples, warmup_s, rate, windows),
        "latency_per_minute": windows,
        "processes": process_report(pipe),
        "samples": [vars(x) for x in samples],
        **noise(before, after, pipe), "exit_codes": codes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=5000, help="events published at once")
    parser.add_argument("--duration", type=float, default=600.0, help="sustained seconds")
    parser.add_argument("--rate", type=float, default=None,
                        help="sustained events/s (default: --rate-fraction of the burst's "
                             "end-to-end throughput)")
    parser.add_argument("--rate-fraction", type=float, default=0.6)
    parser.add_argument("--warmup", type=float, default=120.0)
    parser.add_argument("--sample", type=float, default=10.0, help="sampling interval, s")
    parser.add_argument("--part", default="burst,sustained")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="burst completion and sustained drain limit, s")
    args = parser.parse_args()
    parts = args.part.split(",")
    out: dict[str, Any] = {"clips": [p.name for p in short_clips()]}
    rate = args.rate
    if "burst" in parts:
        out["burst"] = asyncio.run(burst(args.burst, args.sample, args.timeout))
        measured = out["burst"]["end_to_end_files_per_s"]
        if rate is None and measured:
            rate = args.rate_fraction * measured
    if "sustained" in parts:
        if rate is None:
            parser.error("--rate is needed when the burst part did not measure a throughput")
        out["sustained"] = asyncio.run(sustained(rate, args.duration, args.warmup,
                                                 args.sample, args.timeout))
        out["sustained"]["rate_basis"] = ("--rate" if args.rate is not None else
                                          f"{args.rate_fraction} x burst end-to-end files/s")
    write_result("pipeline_load", out)


if __name__ == "__main__":
    main()
