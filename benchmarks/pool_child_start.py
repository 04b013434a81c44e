"""What a pool process costs to start: children that re-run the parent's main module vs not.

    .venv/bin/python -m benchmarks.pool_child_start [--repeats 3]

The parent imports the `tracktion` CLI first, as the console script does. Side by side,
alternating: (a) `AnalysisPool`'s own start (the parent's `__main__` hidden, see
`streams/pool/pool.py::_parent_main_hidden`); (b) a plain `spawn` of the same child, which
re-runs the parent's main module (this benchmark, importing the CLI) in the child, the
behaviour before that change. Each child analyses one 8-second clip; reported per variant
(median over repeats): the child's RSS after it, its CPU seconds, and the wall seconds
from start to the result.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import statistics
import time
from typing import Any

import streams.cli.main  # noqa: F401  # the parent as deployed: the CLI is imported
from benchmarks.machine import write_result
from benchmarks.pipeline_common import short_clips
from streams.pool.child import DEFAULT_ANALYSE, child_main
from streams.pool.pool import AnalysisPool


def _rss_cpu(pid: int) -> tuple[float, float]:
    with open(f"/proc/{pid}/status") as fh:
        rss = next(int(line.split()[1]) / 1024 for line in fh if line.startswith("VmRSS"))
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return rss, cpu


async def pool_child(clip: str) -> dict[str, float]:
    pool = AnalysisPool(1, 120.0, 10_000)
    started = time.monotonic()
    pool.start()
    await pool.analyse(clip)
    wall = time.monotonic() - started
    rss, cpu = _rss_cpu(pool._idle[0].process.pid or 0)
    await pool.close()
    return {"rss_mb": rss, "cpu_s": cpu, "wall_s": wall}


def plain_spawn_child(clip: str) -> dict[str, float]:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    started = time.monotonic()
    process = ctx.Process(target=child_main, args=(child, DEFAULT_ANALYSE), daemon=True)
    process.start()
    child.close()
    parent.recv()  # "ready"
    parent.send(clip)
    parent.recv()
    wall = time.monotonic() - started
    rss, cpu = _rss_cpu(process.pid or 0)
    parent.send(None)
    process.join(timeout=10)
    return {"rss_mb": rss, "cpu_s": cpu, "wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    clip = str(short_clips()[0])
    runs: dict[str, list[dict[str, float]]] = {"main_hidden": [], "plain_spawn": []}
    for _ in range(args.repeats):
        runs["main_hidden"].append(asyncio.run(pool_child(clip)))
        runs["plain_spawn"].append(plain_spawn_child(clip))
    median: dict[str, Any] = {
        variant: {k: round(statistics.median(r[k] for r in rs), 2) for k in rs[0]}
        for variant, rs in runs.items()}
    write_result("pool_child_start", {
        "clip": os.path.basename(clip), "repeats": args.repeats, "median": median,
        "saved_per_child": {k: round(median["plain_spawn"][k] - median["main_hidden"][k], 2)
                            for k in ("rss_mb", "cpu_s", "wall_s")},
        "runs": runs, "load_avg": [round(x, 2) for x in os.getloadavg()]})


if __name__ == "__main__":
    main()
