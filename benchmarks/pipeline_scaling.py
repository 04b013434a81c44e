"""Analysis scaling: one worker process vs two in the same consumer group, same files, same run.

    .venv/bin/python -m benchmarks.pipeline_scaling [--files 40] [--repeats 2]
        [--partitions 12]

Layouts (processes x ANALYSIS_MAX_WORKERS each), interleaved per repeat so that the
neighbours' load hits them alike:
- 1x1: one `tracktion worker --role analysis`, one pool child;
- 2x1: two such processes in the same consumer group, as if on two hosts;
- 1x2: one process with two pool children (the single-host way), for comparison.
Each layout gets a fresh namespace; the files are published straight to the normal Kafka
lane as AnalysisRequested(force=True) once every member has joined the group, and the
clock stops at the last AnalysisCompleted on the analysis topic. Speed-up = files/hour
over 1x1; efficiency = speed-up / pool children.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
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
    publish_requests,
)
from benchmarks.pipeline_procs import (
    TreeMonitor,
    cpu_snapshot,
    machine_cpu,
    machine_cpu_delta,
    top_consumers,
)
from infra.polling import poll_until

LAYOUTS: dict[str, list[int]] = {"1x1": [1], "2x1": [1, 1], "1x2": [2]}


async def group_members(bootstrap: str, group: str) -> tuple[str, int]:
    from infra.kafka_groups import describe_group

    described = await describe_group(bootstrap, group, timeout_ms=40_000)
    return described.state, len(described.members)


async def run_layout(name: str, files: list[Path], partitions: int) -> dict[str, Any]:
    from infra.kafka_admin import ensure_topics
    from infra.settings import get_settings
    from schemas.namespace import Namespace

    s = get_settings()
    prefix = new_prefix("sc")
    await ensure_topics(s.kafka_bootstrap_servers, partitions, Namespace(prefix))
    procs = [bench_worker("analysis", prefix, {"ANALYSIS_MAX_WORKERS": str(k),
                                               "KAFKA_PARTITIONS": str(partitions)},
                          name=f"analysis{i}") for i, k in enumerate(LAYOUTS[name])]
    completions = Completions(s.kafka_bootstrap_servers, Namespace(prefix).analysis_topic)
    try:
        for proc in procs:
            proc.start()
        await asyncio.gather(*(p.wait_started() for p in procs))

        async def joined() -> bool:
            state, members = await group_members(s.kafka_bootstrap_servers,
                                                 f"{prefix}-analysis")
            return state == "Stable" and members == len(procs)

        stable = await poll_until(joined, 90, 0.5) is not None
        completions.start()
        monitor = TreeMonitor({p.name: p.pid for p in procs})
        cpu0, load0, snap0 = machine_cpu(), load_avg(), cpu_snapshot()
        monitor.start()
        t0 = time.monotonic()
        wall0 = time.time()
        await publish_requests(s.kafka_bootstrap_servers, prefix, files, len(files),
                               tag="scale")

        async def finished() -> bool:
            return len(completions.done) + completions.failed >= len(files)

        await poll_until(finished, 1800, 0.1)
        wall = time.monotonic() - t0
        monitor.stop()
        cpu1, load1, snap1 = machine_cpu(), load_avg(), cpu_snapshot()
    finally:
        await completions.stop()
        codes = [p.stop() for p in procs]
        await cleanup_namespace(prefix)
    per_worker: dict[str, int] = {}
    for worker, _ in completions.done.values():
        per_worker[worker] = per_worker.get(worker, 0) + 1
    last = max(t for _, t in completions.done.values())
    ours = monitor.total_cpu_s()
    pool_children = sum(LAYOUTS[name])
    return {
        "layout": name, "processes": len(procs), "pool_children": pool_children,
        "group_stable_before_publish": stable, "files": len(files),
        "completed": len(completions.done), "failed": completions.failed,
        "wall_s": round(wall, 2), "wall_s_by_event_time": round(last - wall0, 2),
        "files_per_hour": round(3600 * len(files) / wall),
        "cpu_s_per_file": round(ours / len(files), 3),
        "cores_used": round(ours / wall, 2),
        # time the pool children were runnable but had no core (contention, per file)
        "pool_runqueue_wait_s_per_file": round(monitor.runqueue_wait_s("pool") / len(files), 3),
        "files_per_worker_process": sorted(per_worker.values(), reverse=True),
        "processes_detail": monitor.report(),
        "machine": machine_cpu_delta(cpu0, cpu1, ours),
        "top_other_cpu_s": top_consumers(snap0, snap1, monitor.pids() | {os.getpid()},
                                          machine_cpu_delta(cpu0, cpu1, ours)["capacity_cpu_s"]),
        "load_avg_before_after": [load0, load1], "exit_codes": codes,
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    by: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by.setdefault(run["layout"], []).append(run)
    median = {k: statistics.median(r["files_per_hour"] for r in v) for k, v in by.items()}
    out: dict[str, Any] = {
        "median_files_per_hour": {k: round(v) for k, v in median.items()},
        # CPU per file barely depends on the neighbours: if it stays flat from 1x1 to 2x1,
        # adding workers costs nothing and the speed-up is bounded only by free cores.
        "median_cpu_s_per_file": {k: round(statistics.median(r["cpu_s_per_file"] for r in v), 3)
                                  for k, v in by.items()},
        "median_cores_used": {k: round(statistics.median(r["cores_used"] for r in v), 2)
                              for k, v in by.items()},
        "median_not_ours_fraction": {
            k: round(statistics.median(r["machine"]["not_ours_fraction_of_capacity"]
                                       for r in v), 3) for k, v in by.items()},
    }
    base = median.get("1x1")
    if base:
        speedup = {k: round(v / base, 2) for k, v in median.items()}
        out["speedup_over_1x1"] = speedup
        out["efficiency"] = {k: round(speedup[k] / sum(LAYOUTS[k]), 2) for k in speedup}
        # Per repeat, side by side: the ratio within one repeat is the least noisy figure.
        repeats = min(len(v) for v in by.values())
        out["speedup_2x1_per_repeat"] = [
            round(by["2x1"][i]["files_per_hour"] / by["1x1"][i]["files_per_hour"], 2)
            for i in range(repeats)] if "2x1" in by else []
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=200.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--partitions", type=int, default=12)
    parser.add_argument("--layouts", default="1x1,2x1,1x2")
    args = parser.parse_args()
    files, generated_s = long_corpus(args.files, args.seconds)
    runs = []
    for repeat in range(args.repeats):
        for name in args.layouts.split(","):
            result = asyncio.run(run_layout(name, files, args.partitions))
            result["repeat"] = repeat
            runs.append(result)
            print(f"repeat {repeat} {name}: {result['files_per_hour']} files/hour, "
                  f"{result['cores_used']} cores, load {result['load_avg_before_after'][1][0]}",
                  file=sys.stderr, flush=True)
    write_result("pipeline_scaling", {
        "corpus": {"files": len(files), "seconds_each": args.seconds,
                   "generated_now_s": round(generated_s, 1)},
        "partitions": args.partitions, "summary": summarise(runs), "runs": runs})


if __name__ == "__main__":
    main()
