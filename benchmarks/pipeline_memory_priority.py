"""Memory under a 10,000-file backlog, and how fast one urgent file gets through a 2,000-file one.

    .venv/bin/python -m benchmarks.pipeline_memory_priority [--events 10000]
        [--duration 120] [--backlog 2000] [--probes 5] [--part memory,priority]

(a) memory: `--events` AnalysisRequested(force=True) events pointing to 4 real 8-second
    clips are queued on the normal Kafka lane, then an analysis worker starts (default
    settings: ANALYSIS_MAX_WORKERS=2, QUEUE_MAX_SIZE, MAX_MEMORY_MB) and works on the backlog
    for `--duration` seconds while the RSS of the worker and of each pool child is sampled
    every 0.5 s (target: < 500 MB each). Short clips make the worker turn events over as
    fast as it can, which is the worst case for buffering and per-file overheads.
(b) priority: `--backlog` requests for the real 3-4-minute tracks are queued on the normal
    lane; bridge, analysis and projections workers run; once the backlog is being worked
    on, one high-priority request is published through RabbitMQ (the `tracktion publish
    --priority high` path), and the clock runs until its Postgres row says `analysed`
    (target: < 10 s). Repeated `--probes` times, a few seconds apart, for the code as it is
    and with Faust's unbounded poll (the setting before the fix in streams/app.py), side by
    side (`--variants`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.machine import write_result
from benchmarks.pipeline_common import (
    Completions,
    bench_worker,
    cleanup_namespace,
    load_avg,
    long_corpus,
    new_prefix,
    percentiles,
    pg_connect,
    publish_requests,
    short_clips,
)
from benchmarks.pipeline_procs import (
    TreeMonitor,
    cpu_snapshot,
    machine_cpu,
    machine_cpu_delta,
    top_consumers,
)
from infra.polling import poll_until
from schemas.status import TrackStatus

RSS_TARGET_MB = 500
PRIORITY_TARGET_S = 10.0


def rss_summary(monitor: TreeMonitor, role: str) -> dict[str, Any]:
    """Main and largest-pool-child RSS at the start, quarter points and end of the window."""
    series = [(t, main, pool) for t, r, main, pool in monitor.series if r == role]
    if not series:
        return {}
    picks = sorted({0, len(series) // 4, len(series) // 2, 3 * len(series) // 4,
                    len(series) - 1})
    return {"samples": len(series),
            "t_s": [series[i][0] for i in picks],
            "main_rss_mb": [series[i][1] for i in picks],
            "largest_pool_child_rss_mb": [series[i][2] for i in picks]}


async def memory_backlog(events: int, duration_s: float, partitions: int) -> dict[str, Any]:
    from infra.kafka_admin import ensure_topics
    from infra.settings import get_settings
    from schemas.namespace import Namespace

    s = get_settings()
    clips = short_clips()
    prefix = new_prefix("mem")
    await ensure_topics(s.kafka_bootstrap_servers, partitions, Namespace(prefix))
    t_pub = time.monotonic()
    await publish_requests(s.kafka_bootstrap_servers, prefix, clips, events, tag="mem")
    publish_s = time.monotonic() - t_pub
    worker = bench_worker("analysis", prefix, {"KAFKA_PARTITIONS": str(partitions)})
    completions = Completions(s.kafka_bootstrap_servers, Namespace(prefix).analysis_topic)
    try:
        worker.start()
        monitor = TreeMonitor({"analysis": worker.pid})
        monitor.start()  # from process start: start-up allocations count towards the peak
        cpu0, load0, snap0 = machine_cpu(), load_avg(), cpu_snapshot()
        await worker.wait_started()
        completions.start()
        t0 = time.monotonic()

        async def all_done() -> bool:
            return len(completions.done) + completions.failed >= events

        drained = await poll_until(all_done, duration_s, 0.5) is not None
        window = time.monotonic() - t0
        monitor.stop()
        cpu1, load1, snap1 = machine_cpu(), load_avg(), cpu_snapshot()
    finally:
        await completions.stop()
        code = worker.stop()
        await cleanup_namespace(prefix)
    report = monitor.report().get("analysis", {"processes": []})
    mains = [p for p in report["processes"] if p["kind"] == "main"]
    pools = [p for p in report["processes"] if p["kind"] == "pool"]
    done = len(completions.done)
    peak_main = max((p["peak_rss_mb"] for p in mains), default=0.0)
    peak_pool = max((p["peak_rss_mb"] for p in pools), default=0.0)
    return {
        "events_queued": events, "clips": [c.name for c in clips],
        "publish_s": round(publish_s, 2), "window_s": round(window, 1),
        "drained_backlog": drained, "files_done_in_window": done,
        "failed": completions.failed,
        "files_per_s": round(done / window, 2),
        "peak_rss_mb": {"worker_main": peak_main, "largest_pool_child": peak_pool,
                        "target_each": RSS_TARGET_MB,
                        "within_target": max(peak_main, peak_pool) < RSS_TARGET_MB},
        "pool_children_seen": len(pools),
        "pool_children_recycled": sum(p["exited_during_run"] for p in pools),
        "rss_over_time": rss_summary(monitor, "analysis"),
        "processes": report["processes"],
        "machine": machine_cpu_delta(cpu0, cpu1, monitor.total_cpu_s()),
        "top_other_cpu_s": top_consumers(snap0, snap1, monitor.pids() | {os.getpid()},
                                          machine_cpu_delta(cpu0, cpu1)["capacity_cpu_s"]),
        "load_avg_before_after": [load0, load1], "exit_code": code,
    }


async def _analysed(prefix: str, file_id: str) -> tuple[str | None, float | None]:
    conn = await pg_connect()
    try:
        row = await conn.fetchrow(
            f"SELECT t.status, extract(epoch FROM a.occurred_at - t.created_at) AS s "
            f"FROM {prefix}.tracks t LEFT JOIN {prefix}.analyses a "
            f"ON a.analysis_id = t.current_analysis_id WHERE t.file_id = $1", file_id)
    except Exception:  # the schema appears with the projection's first write
        return None, None
    finally:
        await conn.close()
    if row is None:
        return None, None
    return row["status"], None if row["s"] is None else float(row["s"])


VARIANTS: dict[str, dict[str, Any]] = {
    # streams/app.py as it is: broker_max_poll_records = max(8, 4 x ANALYSIS_MAX_WORKERS)
    "as_is": {},
    # Faust's default before that fix: each poll returns everything prefetched, so the
    # conductor must hand the whole fetched backlog to the normal lane before it fetches
    # again; kept to show what the bounded fetch buys (and to catch a regression).
    "unbounded_poll": {"broker_max_poll_records": None},
}


async def priority_latency(backlog: int, probes: int, partitions: int, files: list[Path],
                           variant: str, probe_timeout_s: float) -> dict[str, Any]:
    from infra.kafka_admin import ensure_topics
    from infra.settings import get_settings
    from schemas.envelope import file_id_for
    from schemas.namespace import Namespace

    s = get_settings()
    prefix = new_prefix("prio")
    await ensure_topics(s.kafka_bootstrap_servers, partitions, Namespace(prefix))
    await publish_requests(s.kafka_bootstrap_servers, prefix, files, backlog, tag="backlog")
    env = {"KAFKA_PARTITIONS": str(partitions)}
    overrides = VARIANTS[variant]
    analysis_env = {**env, "BENCH_FAUST_OVERRIDES": json.dumps(overrides)} if overrides else env
    procs = [bench_worker(role, prefix, analysis_env if role == "analysis" else env)
             for role in ("bridge", "analysis", "projections")]
    completions = Completions(s.kafka_bootstrap_servers, Namespace(prefix).analysis_topic)
    results: list[dict[str, Any]] = []
    try:
        for proc in procs:
            proc.start()
        await asyncio.gather(*(p.wait_started() for p in procs))
        completions.start()

        async def under_way() -> bool:
            return len(completions.done) >= 10

        await poll_until(under_way, 300, 0.5)
        load0 = load_avg()
        t_probes, done_before_probes = time.monotonic(), len(completions.done)
        for i in range(probes):
            before = len(completions.done)
            t0 = time.time()
            await publish_requests(s.kafka_bootstrap_servers, prefix, [files[i % len(files)]],
                                   1, priority="high", start=i, tag="urgent", via="rabbitmq")
            file_id = file_id_for("/urgent", f"{i:06}")
            status, event_s = None, None

            async def analysed(fid: str = file_id) -> bool:
                nonlocal status, event_s
                status, event_s = await _analysed(prefix, fid)
                return status == TrackStatus.ANALYSED

            ok = await poll_until(analysed, probe_timeout_s, 0.05) is not None
            results.append({"probe": i, "analysed": ok,
                             "publish_to_postgres_analysed_s": round(time.time() - t0, 2),
                             "publish_to_completed_event_s": event_s,
                             "backlog_files_done_meanwhile": len(completions.done) - before})
            print(f"probe {i}: {results[-1]}", file=sys.stderr, flush=True)
            await asyncio.sleep(3)
        analysed_probes = sum(r["analysed"] for r in results)
        remaining = backlog - (len(completions.done) - analysed_probes)
        # does the variant cost throughput? backlog files finished per second meanwhile
        backlog_rate = ((len(completions.done) - done_before_probes - analysed_probes)
                        / (time.monotonic() - t_probes))
    finally:
        await completions.stop()
        codes = {p.role: p.stop() for p in procs}
        await cleanup_namespace(prefix)
    latencies = [r["publish_to_postgres_analysed_s"] for r in results if r["analysed"]]
    return {"variant": variant, "faust_overrides": overrides, "backlog": backlog,
            "backlog_remaining_at_end": remaining, "probe_timeout_s": probe_timeout_s,
            "backlog_files_per_s_while_probing": round(backlog_rate, 2),
            "probes": results,
            "publish_to_postgres_analysed_s": percentiles(latencies),
            "target_s": PRIORITY_TARGET_S,
            "within_target": bool(latencies) and max(latencies) < PRIORITY_TARGET_S
            and len(latencies) == probes,
            "load_avg_before_after": [load0, load_avg()], "exit_codes": codes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=120.0)
    parser.add_argument("--backlog", type=int, default=2000)
    parser.add_argument("--probes", type=int, default=5)
    parser.add_argument("--files", type=int, default=40, help="long-track corpus for (b)")
    parser.add_argument("--partitions", type=int, default=12)
    parser.add_argument("--part", default="memory,priority")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"priority variants, side by side: {', '.join(VARIANTS)}")
    parser.add_argument("--probe-timeout", type=float, default=60.0)
    args = parser.parse_args()
    parts = args.part.split(",")
    out: dict[str, Any] = {}
    if "memory" in parts:
        out["memory"] = asyncio.run(memory_backlog(args.events, args.duration,
                                                   args.partitions))
        print(f"memory: {out['memory']['peak_rss_mb']}", file=sys.stderr, flush=True)
    if "priority" in parts:
        files, _ = long_corpus(args.files)
        out["priority"] = {}
        for variant in args.variants.split(","):
            out["priority"][variant] = asyncio.run(priority_latency(
                args.backlog, args.probes, args.partitions, files, variant, args.probe_timeout))
    write_result("pipeline_memory_priority", out)


if __name__ == "__main__":
    main()
