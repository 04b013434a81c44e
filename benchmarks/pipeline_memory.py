"""Peak RSS of every process with 10,000 files queued and 10,000 tracks in the read models.

    .venv/bin/python -m benchmarks.pipeline_memory [--files 10000] [--duration 120]

In a namespace of its own: `--files` tracks' events (FileDiscovered + AnalysisCompleted,
realistic tags and features) are written to the Kafka topics as a library analysed
earlier (the analysis group's offsets are already past them), and `--files` analysis
requests (4 real 8-second clips, distinct file ids) are queued in RabbitMQ. Then the
bridge, analysis and projections workers start (default settings) and run for
`--duration` seconds after the read models hold every track, while the read API of the
projections worker is queried every 2 s (`/api/tracks?limit=500`, `/api/mix`). Reported:
peak RSS of each process (worker mains, every pool process) against the 500 MB bound, the
read-model counts, and how far the queue got.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

import aiohttp

from benchmarks.machine import write_result
from benchmarks.pipeline_common import (
    new_prefix,
    open_sink,
    projected_counts,
    request_event,
)
from benchmarks.pipeline_load import Pipeline, file_infos, machine_window, noise
from benchmarks.projection_postgres import make_events, produce
from infra.polling import poll_until

RSS_BOUND_MB = 500


async def mark_consumed(bootstrap: str, group: str, topics: list[str]) -> None:
    """Commit `group`'s offsets at the end of `topics`, as a group that has read them.

    The 10,000 tracks stand for a library analysed in an earlier run: their file events are
    behind the analysis group already. Left unconsumed, the analysis worker would try to
    analyse 10,000 files that do not exist here and turn them all into failures.
    """
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition

    from infra.kafka_admin import partition_ids

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in topics
               for p in await partition_ids(bootstrap, t)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.commit(dict(ends))
    finally:
        await consumer.stop()


async def query_api(port: int, stop: asyncio.Event, file_id: str) -> dict[str, Any]:
    """Keep the read API busy until `stop`; count answers and failures."""
    done, failed, rows = 0, 0, 0
    async with aiohttp.ClientSession() as http:
        while not stop.is_set():
            for path in ("/api/tracks?limit=500", f"/api/mix?track={file_id}&limit=25"):
                try:
                    async with http.get(f"http://127.0.0.1:{port}{path}") as resp:
                        body = await resp.json()
                        done += resp.status == 200
                        failed += resp.status != 200
                        rows += len(body) if isinstance(body, list) else 0
                except aiohttp.ClientError:
                    failed += 1
            await asyncio.sleep(2)
    return {"answered": done, "failed": failed, "rows_returned": rows}


async def run(files: int, duration_s: float) -> dict[str, Any]:
    from infra.kafka_admin import ensure_topics
    from infra.settings import get_settings
    from schemas.envelope import PRIORITIES
    from schemas.namespace import Namespace
    from streams.publishing.sinks import event_headers

    s = get_settings()
    prefix = new_prefix("mem")
    pipe, ns = Pipeline(prefix), Namespace(prefix)
    await ensure_topics(s.kafka_bootstrap_servers, s.kafka_partitions, ns)
    events = make_events(files, seed=7, prefix="memory")
    produce_s = await produce(s, events, ns.lane_topic("normal"), ns.analysis_topic)
    await mark_consumed(s.kafka_bootstrap_servers, f"{prefix}-analysis",
                        [ns.lane_topic(p) for p in PRIORITIES])
    infos = file_infos()
    sink = open_sink(s.kafka_bootstrap_servers, prefix, "rabbitmq")
    await sink.start()
    try:
        for i in range(files):
            event = request_event(infos, i, "queued", "memory-queue")
            await sink.send(event, event_headers(event, {}))
        await sink.flush()
    finally:
        await sink.close()
    print(f"memory: {files} tracks in the topics ({produce_s:.1f}s), {files} queued",
          file=sys.stderr, flush=True)
    counts = (0, 0)
    api: dict[str, Any] = {}
    try:
        before = machine_window()
        t0 = time.monotonic()
        await pipe.start()
        projections = next(p for p in pipe.procs if p.role == "projections")
        stop = asyncio.Event()
        querying = asyncio.create_task(query_api(projections.port, stop, events[0].file_id))

        async def read_models_full() -> bool:
            nonlocal counts
            counts = await projected_counts(prefix)
            return min(counts) >= files

        full = await poll_until(read_models_full, 300, 1.0) is not None
        t_full = time.monotonic() - t0
        await asyncio.sleep(duration_s)
        stop.set()
        api = await querying
        counts = await projected_counts(prefix)
        after = machine_window()
    finally:
        codes = await pipe.stop()
    assert pipe.monitor is not None
    report = pipe.monitor.report()
    processes = [{"role": role, "kind": p["kind"], "peak_rss_mb": p["peak_rss_mb"],
                  "cpu_s": p["cpu_s"]}
                 for role, r in sorted(report.items()) for p in r["processes"]]
    peak = max(p["peak_rss_mb"] for p in processes)
    return {
        "tracks_in_read_models_target": files, "queued_in_rabbitmq": files,
        "read_models_full": full, "seconds_to_full_read_models": round(t_full, 1),
        "window_after_full_s": duration_s,
        "read_model_counts_end": {"postgres_analysed": counts[0], "neo4j_tracks": counts[1]},
        "queued_files_analysed_in_window": pipe.analysed, "failed": pipe.failed,
        "read_api": api,
        "processes": processes,
        "peak_rss_mb": {"max_any_process": peak, "bound": RSS_BOUND_MB,
                        "within_bound": peak < RSS_BOUND_MB},
        **noise(before, after, pipe), "exit_codes": codes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=120.0,
                        help="seconds to keep running once the read models are full")
    args = parser.parse_args()
    write_result("pipeline_memory", asyncio.run(run(args.files, args.duration)))


if __name__ == "__main__":
    main()
