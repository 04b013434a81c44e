"""The whole pipeline on real 3-4-minute tracks, beside the decode-only limit and the naive
Essentia baseline, in the same run.

    .venv/bin/python -m benchmarks.pipeline_end_to_end [--files 40] [--naive-files 8]
        [--repeats 3] [--workers 2] [--partitions 12] [--no-tracing] [--skip-baselines]

Pipeline: `tracktion publish` (publish_paths via RabbitMQ) -> bridge -> Kafka lanes ->
analysis (ANALYSIS_MAX_WORKERS pool children) -> analysis topic -> PostgreSQL, Neo4j and
Redis projections; the bridge, analysis and projections roles each run as their own
`tracktion worker` process so that CPU and memory can be told apart. The clock runs from
the first publish until the Redis batch reports done (then until Postgres and Neo4j hold
every file too). Per-file latency = AnalysisCompleted.occurred_at - FileDiscovered
.occurred_at (the publish), read back from the Postgres read model; `processing_ms` is the
analysis agent's own time (pool queueing included).

Beside it, in every repeat: the decode-only limit (2 processes doing only our decode, same
files) just before and just after the pipeline, and the naive baseline (1 process, Essentia
as-is, on `--naive-files` of the same files, half before and half after the pipeline,
extrapolated to files/hour). Ratios are computed within each repeat, then the median over
repeats is reported. The corpus is generated once into .stack/bench-corpus/long<N>
(~7.5 s wall per track on this loaded 2-core machine: 300 s for 40).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.machine import write_result
from benchmarks.pipeline_baselines import decode_limit, naive_baseline
from benchmarks.pipeline_common import (
    REPO,
    bench_worker,
    cleanup_namespace,
    load_avg,
    long_corpus,
    new_prefix,
    percentiles,
    pg_latencies,
    projected_counts,
)
from benchmarks.pipeline_procs import (
    TreeMonitor,
    cpu_snapshot,
    machine_cpu,
    machine_cpu_delta,
    service_cpu,
    service_cpu_delta,
    top_consumers,
)
from infra.polling import poll_until

TARGETS = {"files_per_hour": 8000, "pipeline_over_naive": 6.0,
           "pipeline_over_decode_limit": 0.35}


@dataclass
class _Window:
    """What was sampled between the first publish and the last projection write."""

    monitor: TreeMonitor
    t0: float = 0.0
    t_published: float = 0.0
    t_done: float = 0.0
    t_all: float = 0.0
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    published: int = 0
    progress: Any = None
    complete: bool = False
    counts: tuple[int, int] = (0, 0)


def _sample() -> dict[str, Any]:
    return {"cpu": machine_cpu(), "services": service_cpu(), "load": load_avg(),
            "snapshot": cpu_snapshot()}


async def _publish_and_wait(window: _Window, files: list[Path], prefix: str,
                            tracing: bool) -> None:
    from infra.settings import get_settings
    from infra.telemetry import init_tracing, shutdown_tracing
    from projections.redis.progress import wait_for_batch
    from projections.redis.side_writes import record_expected_total
    from projections.redis.writer import connect
    from schemas.envelope import new_id
    from schemas.namespace import Namespace
    from streams.publishing.publisher import publish_paths

    s = get_settings()
    redis = connect(s.redis_url)
    if tracing:
        os.environ.pop("TRACKTION_TRACING", None)
        init_tracing("tracktion-publish", s.otel_exporter_otlp_endpoint)
    try:
        cid = new_id()
        await record_expected_total(redis, f"{prefix}:", cid, len(files))
        window.t0 = time.monotonic()
        result = await publish_paths([files[0].parent], s, via="rabbitmq", ns=Namespace(prefix),
                                     correlation_id=cid)
        window.published, window.t_published = result.published, time.monotonic()
        window.progress = await wait_for_batch(redis, f"{prefix}:", cid, timeout=1800)
        window.t_done = time.monotonic()

        async def all_projected() -> bool:
            window.counts = await projected_counts(prefix)
            return window.counts == (len(files), len(files))

        window.complete = await poll_until(all_projected, 120, 0.2) is not None
        window.t_all = time.monotonic()
    finally:
        if tracing:
            shutdown_tracing()
        await redis.aclose()


async def run_pipeline(files: list[Path], workers: int, partitions: int,
                       tracing: bool) -> dict[str, Any]:
    from infra.kafka_admin import ensure_topics
    from infra.settings import get_settings
    from schemas.namespace import Namespace

    s = get_settings()
    prefix = new_prefix("e2e")
    env = {"ANALYSIS_MAX_WORKERS": str(workers), "KAFKA_PARTITIONS": str(partitions)}
    if not tracing:
        env["TRACKTION_TRACING"] = "off"
    await ensure_topics(s.kafka_bootstrap_servers, partitions, Namespace(prefix))
    procs = [bench_worker(role, prefix, env) for role in ("bridge", "analysis", "projections")]
    try:
        for proc in procs:
            proc.start()
        await asyncio.gather(*(p.wait_started() for p in procs))
        await asyncio.sleep(3)  # group joins settle; publishing earlier only adds to latency
        window = _Window(TreeMonitor({p.role: p.pid for p in procs}))
        window.before = _sample()
        window.monitor.start()
        await _publish_and_wait(window, files, prefix, tracing)
        window.monitor.stop()
        window.after = _sample()
        rows = await pg_latencies(prefix)
    finally:
        codes = {p.role: p.stop() for p in procs}
        await cleanup_namespace(prefix)
    return {**_report(window, rows, len(files)), "worker_exit_codes": codes,
            "settings": {"ANALYSIS_MAX_WORKERS": workers, "KAFKA_PARTITIONS": partitions,
                         "tracing": tracing}}


def _report(w: _Window, rows: list[dict[str, Any]], n: int) -> dict[str, Any]:
    wall = w.t_done - w.t0
    ours = w.monitor.total_cpu_s()
    latency = [(r["occurred_at"] - r["created_at"]).total_seconds() for r in rows]
    report = w.monitor.report()
    services = service_cpu_delta(w.before["services"], w.after["services"])
    cpu_delta = machine_cpu_delta(w.before["cpu"], w.after["cpu"], ours)
    analysis_cpu = report.get("analysis", {}).get("cpu_s", 0.0)
    return {
        "files": n, "published": w.published, "succeeded": w.progress.succeeded,
        "failed": w.progress.failed, "all_projections_complete": w.complete,
        "postgres_neo4j_counts": list(w.counts),
        "publish_s": round(w.t_published - w.t0, 2),
        "wall_s_publish_to_redis_done": round(wall, 2),
        "wall_s_publish_to_all_projections": round(w.t_all - w.t0, 2),
        "files_per_hour": round(3600 * n / wall),
        "redis_reported_throughput_files_per_hour": round(
            3600 * (w.progress.throughput_per_s or 0)),
        "latency_publish_to_completed_s": percentiles(latency),
        "processing_ms": percentiles([r["processing_ms"] for r in rows]),
        "cpu_s_per_file": {"all_pipeline_processes": round(ours / n, 3),
                           "analysis_incl_pool_and_decoders": round(analysis_cpu / n, 3),
                           # + Kafka, RabbitMQ, Postgres, Neo4j, Redis, Jaeger (shared)
                           "pipeline_and_servers": round((ours + sum(services.values())) / n,
                                                         3)},
        "share_of_machine_used": round(ours / max(1e-9, cpu_delta["capacity_cpu_s"]), 3),
        # time the pool children were runnable but had no core: contention, per file
        "pool_runqueue_wait_s_per_file": round(w.monitor.runqueue_wait_s("pool") / n, 3),
        "processes": report,
        "services_cpu_s": services,
        "machine": cpu_delta,
        "top_other_cpu_s": top_consumers(w.before["snapshot"], w.after["snapshot"],
                                          w.monitor.pids() | {os.getpid()},
                                          cpu_delta["capacity_cpu_s"]),
        "load_avg_before_after": [w.before["load"], w.after["load"]],
    }


def phase(name: str, fn: Any, *args: Any) -> dict[str, Any]:
    """Run a baseline phase with the machine's load recorded around it."""
    cpu0, load0 = machine_cpu(), load_avg()
    result: dict[str, Any] = fn(*args)
    result["machine"] = machine_cpu_delta(cpu0, machine_cpu())
    result["load_avg_before_after"] = [load0, load_avg()]
    print(f"{name}: {result.get('files_per_hour')} files/hour", file=sys.stderr, flush=True)
    return result


def _mean(run: dict[str, Any], name: str, key: str) -> float:
    return float(run[f"{name}_before"][key] + run[f"{name}_after"][key]) / 2


def ratios(run: dict[str, Any]) -> dict[str, Any]:
    """Wall-clock ratios (what the targets are about; each baseline is the mean of its runs
    just before and just after the pipeline, so a load change over the run hits both
    sides alike) and CPU-based ones (what an idle 2-core machine would give: CPU seconds
    per file, not luck with the neighbours)."""
    pipe = run["pipeline"]
    decode_fph = _mean(run, "decode_limit", "files_per_hour")
    decode_cpu = _mean(run, "decode_limit", "cpu_s_per_file")
    naive_fph = _mean(run, "naive", "files_per_hour")
    naive_cpu = _mean(run, "naive", "cpu_s_per_file")
    fph = pipe["files_per_hour"]
    # Our processes only: the servers are shared with other people's tests, whose use of
    # Neo4j or Kafka would otherwise be charged to the pipeline.
    own_cpu = pipe["cpu_s_per_file"]["all_pipeline_processes"]
    with_servers = pipe["cpu_s_per_file"]["pipeline_and_servers"]
    return {
        "pipeline_files_per_hour": fph,
        "naive_files_per_hour": round(naive_fph),
        "decode_limit_files_per_hour": round(decode_fph),
        "pipeline_over_naive": round(fph / naive_fph, 2),
        "pipeline_over_decode_limit": round(fph / decode_fph, 3),
        "pipeline_over_naive_x2_processes": round(fph / (2 * naive_fph), 2),
        "cpu_based": {
            "pipeline_files_per_hour_if_2_cores_were_ours": round(7200 / own_cpu),
            "pipeline_incl_servers_files_per_hour_if_2_cores_were_ours": round(
                7200 / with_servers),
            "naive_files_per_hour_if_1_core_were_ours": round(3600 / naive_cpu),
            "decode_limit_files_per_hour_if_2_cores_were_ours": round(7200 / decode_cpu),
            "pipeline_over_naive": round(naive_cpu * 2 / own_cpu, 2),
            "pipeline_over_decode_limit": round(decode_cpu / own_cpu, 3),
        },
    }


def one_repeat(files: list[Path], args: argparse.Namespace) -> dict[str, Any]:
    """decode limit, naive (half), pipeline, naive (other half), decode limit."""
    run: dict[str, Any] = {}
    naive_files = files[:args.naive_files]
    half = max(1, len(naive_files) // 2)
    if not args.skip_baselines:
        run["decode_limit_before"] = phase("decode-only limit", decode_limit, files, 2)
        run["naive_before"] = phase("naive", naive_baseline, naive_files[:half])
    run["pipeline"] = asyncio.run(run_pipeline(files, args.workers, args.partitions,
                                               not args.no_tracing))
    print(f"pipeline: {run['pipeline']['files_per_hour']} files/hour", file=sys.stderr,
          flush=True)
    if not args.skip_baselines:
        run["naive_after"] = phase("naive", naive_baseline, naive_files[half:])
        run["decode_limit_after"] = phase("decode-only limit", decode_limit, files, 2)
        run["ratios"] = ratios(run)
    return run


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over repeats of every ratio (each ratio comes from one repeat's phases)."""
    if not all("ratios" in r for r in runs):
        return {"pipeline_files_per_hour": statistics.median(
            r["pipeline"]["files_per_hour"] for r in runs)}

    def med(get: Any) -> float:
        return round(float(statistics.median(get(r["ratios"]) for r in runs)), 3)

    flat = [k for k, v in runs[0]["ratios"].items() if not isinstance(v, dict)]
    out: dict[str, Any] = {k: med(lambda x, k=k: x[k]) for k in flat}
    out["cpu_based"] = {k: med(lambda x, k=k: x["cpu_based"][k])
                        for k in runs[0]["ratios"]["cpu_based"]}
    out["latency_p50_s"] = statistics.median(
        r["pipeline"]["latency_publish_to_completed_s"]["p50"] for r in runs)
    out["latency_p95_s"] = statistics.median(
        r["pipeline"]["latency_publish_to_completed_s"]["p95"] for r in runs)
    out["not_ours_fraction_during_pipeline"] = [
        r["pipeline"]["machine"]["not_ours_fraction_of_capacity"] for r in runs]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=200.0)
    parser.add_argument("--naive-files", type=int, default=8,
                        help="naive baseline files per repeat, half before, half after")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--partitions", type=int, default=12)
    parser.add_argument("--no-tracing", action="store_true")
    parser.add_argument("--skip-baselines", action="store_true")
    args = parser.parse_args()

    started = time.monotonic()
    files, generated_s = long_corpus(args.files, args.seconds)
    runs = []
    for repeat in range(args.repeats):
        runs.append(one_repeat(files, args))
        print(f"repeat {repeat}: {runs[-1].get('ratios')}", file=sys.stderr, flush=True)
    write_result("pipeline_end_to_end", {
        "corpus": {"files": len(files), "seconds_each": args.seconds,
                   "folder": str(files[0].parent.relative_to(REPO)),
                   "generated_now_s": round(generated_s, 1)},
        "summary_median_of_repeats": summarise(runs), "targets": TARGETS,
        "benchmark_wall_s": round(time.monotonic() - started, 1), "repeats": runs})


if __name__ == "__main__":
    main()
