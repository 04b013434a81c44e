"""Benchmark of the Neo4j graph projection: UNWIND-batched writer vs one statement per event.

100,000 AnalysisCompleted events plus the 100,000 FileDiscovered events that carry the tags
(artist from 2,000, album from 5,000, genre from 30; 24 keys; 60-180 BPM). Measured in one run:
- batched: apply + write of pre-decoded events in runner-sized batches (one UNWIND statement
  per kind per batch, then the edge-sync statements, then the checkpoint: one transaction),
  the FileDiscovered phase and the AnalysisCompleted phase timed separately;
- naive: the same writer with one row per statement (chunk_rows=1), on a subset;
- kafka: end to end through ProjectionRunner.run_until_caught_up (decode included);
- queries: `mix` and `playlist` latency on the resulting 100,000-track graph.
Prints JSON and writes benchmarks/results/projection_neo4j.json.

    .venv/bin/python benchmarks/projection_neo4j.py [--tracks 100000] [--naive-tracks 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import subprocess
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from infra.settings import Settings, get_settings
from projections.base import Checkpoints, Positioned, ProjectionSpec
from projections.neo4j import queries
from projections.neo4j.apply import Neo4jProjector
from projections.neo4j.camelot import all_keys
from projections.neo4j.writer import Neo4jWriter, connect
from projections.runner import ProjectionRunner
from schemas.analysis_events import AnalysisCompleted, AnalysisCompletedPayload
from schemas.codec import AnyEvent, encode
from schemas.envelope import file_id_for
from schemas.file_events import FileDiscovered, FileDiscoveredPayload, FileInfo, Tags
from tests.unit.schemas.samples import FEATURES as SAMPLE_FEATURES

ROOT = Path(__file__).resolve().parent.parent
TARGET_EPS = 2000
PARTITIONS = 12
KEYS = all_keys()
# The schema tests' sample analysis, without a fingerprint (as the events measured so far).
FEATURES = msgspec.structs.replace(SAMPLE_FEATURES, fingerprint=None)


def make_events(tracks: int, seed: int = 42) -> tuple[list[AnyEvent], list[AnyEvent]]:
    """(discoveries, analyses) of `tracks` files, deterministic for a given seed."""
    rng, t0 = random.Random(seed), datetime(2026, 11, 24, tzinfo=UTC)
    found: list[AnyEvent] = []
    analysed: list[AnyEvent] = []
    for i in range(tracks):
        rel = f"bench/{i:07d}.flac"
        fid, path = file_id_for("/m", rel), f"/m/{rel}"
        artist = f"Artist {rng.randrange(2000)}"
        tags = Tags(artist=artist, title=f"Track {i}", album=f"Album {rng.randrange(5000)}",
                    genre=f"Genre {rng.randrange(30)}")
        info = FileInfo(path=path, library_root="/m", relative_path=rel, size=i, mtime=0.0,
                        content_hash=f"{i:032x}", format="flac", tags=tags)
        t = t0 + timedelta(milliseconds=i)
        found.append(FileDiscovered.create(file_id=fid, correlation_id="bench", occurred_at=t,
                                           payload=FileDiscoveredPayload(file=info)))
        key = KEYS[rng.randrange(24)]
        features = msgspec.structs.replace(FEATURES, camelot=key.camelot, key=key.name,
                                           scale=key.scale, bpm=round(rng.uniform(60, 180), 2))
        analysed.append(AnalysisCompleted.create(
            file_id=fid, correlation_id="bench", occurred_at=t + timedelta(minutes=5),
            payload=AnalysisCompletedPayload(analysis_id=f"an{i}", path=path,
                                             content_hash=f"{i:032x}", features=features,
                                             processing_ms=500.0)))
    return found, analysed


def positioned(events: Sequence[AnyEvent], topic: str) -> list[Positioned]:
    return [Positioned(e, topic, 0, i) for i, e in enumerate(events)]


async def feed(writer: Neo4jWriter, items: Sequence[Positioned], batch_size: int) -> float:
    """Apply + write in batches as the runner would; returns seconds."""
    projector = Neo4jProjector()
    start = time.perf_counter()
    for i in range(0, len(items), batch_size):
        batch = items[i:i + batch_size]
        checkpoints: Checkpoints = {}
        for p in batch:
            checkpoints[(p.topic, p.partition)] = p.offset
        await writer.write(projector.name, projector.apply(batch), checkpoints)
    return time.perf_counter() - start


async def measure_writer(settings: Settings, ns: str, found: list[AnyEvent],
                         analysed: list[AnyEvent], batch_size: int,
                         chunk_rows: int) -> dict[str, Any]:
    """Lanes first, then analysis (a catch-up reads each topic from its start); each timed."""
    writer = Neo4jWriter(settings, ns, chunk_rows=chunk_rows)
    await writer.setup()
    try:
        files_s = await feed(writer, positioned(found, "files"), batch_size)
        analysis_s = await feed(writer, positioned(analysed, "analysis"), batch_size)
    finally:
        await writer.close()
    events, seconds = len(found) + len(analysed), files_s + analysis_s
    return {"events": events, "batch_size": batch_size, "rows_per_statement": chunk_rows,
            "seconds": round(seconds, 2), "events_per_s": round(events / seconds),
            "file_phase": {"events": len(found), "seconds": round(files_s, 2),
                           "events_per_s": round(len(found) / files_s)},
            "analysis_phase": {"events": len(analysed), "seconds": round(analysis_s, 2),
                               "events_per_s": round(len(analysed) / analysis_s)}}


async def measure_kafka(settings: Settings, ns: str, found: list[AnyEvent],
                        analysed: list[AnyEvent], batch_size: int) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    topics = [f"bench.neo4j.files.{tag}", f"bench.neo4j.analysis.{tag}"]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in topics])
        produce_s = await produce(settings, {topics[0]: found, topics[1]: analysed})
        spec = ProjectionSpec(Neo4jProjector(), Neo4jWriter(settings, ns), "neo4j")
        runner = ProjectionRunner(spec, settings, topics, group_id=f"bench-{tag}",
                                  batch_size=batch_size)
        start = time.perf_counter()
        try:
            applied = await runner.run_until_caught_up(timeout_s=3600)
        finally:
            await runner.stop()
        seconds = time.perf_counter() - start
    finally:
        await admin.delete_topics(topics)
        await admin.close()
    return {"events": applied, "batch_size": batch_size, "partitions": PARTITIONS,
            "produce_seconds": round(produce_s, 2), "seconds": round(seconds, 2),
            "events_per_s": round(applied / seconds)}


async def produce(settings: Settings, by_topic: dict[str, list[AnyEvent]]) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all",
                                linger_ms=50, max_batch_size=512 * 1024)
    await producer.start()
    start = time.perf_counter()
    try:
        sent = [await producer.send(topic, encode(e), key=e.file_id.encode())
                for topic, events in by_topic.items() for e in events]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    return time.perf_counter() - start


async def measure_queries(settings: Settings, ns: str, analysed: list[AnyEvent],
                          samples: int = 20) -> dict[str, Any]:
    driver = connect(settings)
    seeds = [e.file_id for e in random.Random(7).sample(analysed, samples)]
    mix_ms, playlist_ms, found = [], [], []
    try:
        for seed in seeds:
            start = time.perf_counter()
            found.append(len(await queries.mix(driver, ns, seed, 0.06, 20)))
            mix_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            await queries.playlist(driver, ns, seed, 10, 0.06)
            playlist_ms.append((time.perf_counter() - start) * 1000)
    finally:
        await driver.close()
    return {"seeds": samples, "mix_limit": 20, "mix_median_ms": round(statistics.median(mix_ms), 1),
            "mix_max_ms": round(max(mix_ms), 1), "mix_min_results": min(found),
            "playlist_length": 10, "playlist_median_ms": round(statistics.median(playlist_ms), 1),
            "playlist_max_ms": round(max(playlist_ms), 1)}


def machine(settings: Settings) -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=False).stdout.strip()

    return {"cores": os.cpu_count(), "ram_gb": round(ram, 1), "cpu_model": cpu,
            "python": platform.python_version(), "git_commit": git("rev-parse", "HEAD"),
            "git_dirty": bool(git("status", "--porcelain")), "neo4j_uri": settings.neo4j_uri,
            # The machine is shared: the load says how much of the 2 cores we really had.
            "loadavg_1m_at_end": round(os.getloadavg()[0], 2)}


async def drop(settings: Settings, ns: str) -> None:
    writer = Neo4jWriter(settings, ns)
    try:
        await writer.drop_namespace()
    finally:
        await writer.close()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    settings = get_settings()
    found, analysed = make_events(args.tracks)
    run = uuid.uuid4().hex[:8]
    spaces = {k: f"bench_{k}_{run}" for k in ("batched", "naive", "kafka")}
    result: dict[str, Any] = {"benchmark": "projection_neo4j",
                              "at": datetime.now(UTC).isoformat(timespec="seconds"),
                              "command": " ".join(["python benchmarks/projection_neo4j.py",
                                                   *args.argv]), "tracks": args.tracks}
    try:
        result["batched"] = await measure_writer(settings, spaces["batched"], found, analysed,
                                                 args.batch_size, chunk_rows=args.batch_size)
        result["queries"] = await measure_queries(settings, spaces["batched"], analysed)
        await drop(settings, spaces["batched"])  # keep the store small for the next runs
        n = args.naive_tracks
        result["naive"] = await measure_writer(settings, spaces["naive"], found[:n],
                                               analysed[:n], args.batch_size, chunk_rows=1)
        result["ratio_batched_to_naive"] = round(
            result["batched"]["events_per_s"] / result["naive"]["events_per_s"], 1)
        await drop(settings, spaces["naive"])
        result["kafka_end_to_end"] = ("skipped (--no-kafka)" if args.no_kafka else
                                      await measure_kafka(settings, spaces["kafka"], found,
                                                          analysed, args.batch_size))
    finally:
        for ns in spaces.values():
            await drop(settings, ns)
    result["target_events_per_s"] = TARGET_EPS
    result["meets_target"] = min(result["batched"]["events_per_s"],
                                 result["batched"]["analysis_phase"]["events_per_s"]) >= TARGET_EPS
    result["machine"] = machine(settings)
    return result


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--naive-tracks", type=int, default=2_000)
    parser.add_argument("--batch-size", type=int, default=1_000)
    parser.add_argument("--no-kafka", action="store_true")
    args = parser.parse_args(argv)
    args.argv = argv
    return args


if __name__ == "__main__":
    import sys

    from infra.logging import configure_logging

    configure_logging("bench-projection-neo4j", "WARNING")  # logs to stderr: stdout is JSON
    outcome = asyncio.run(main(parse(sys.argv[1:])))
    text = json.dumps(outcome, indent=2)
    print(text)
    out = ROOT / "benchmarks" / "results" / "projection_neo4j.json"
    out.write_text(text + "\n")
