"""Benchmark of the Postgres projection and of `query tracks`.

    .venv/bin/python -m benchmarks.projection_postgres [--files 100000] [--naive-events 5000]

In one run:
- batched: 100,000 FileDiscovered + 100,000 AnalysisCompleted pre-produced to fresh topics,
  consumed by ProjectionRunner.run_until_caught_up (decode, apply, batched upserts and
  checkpoint per 500-event transaction) into a fresh schema;
- naive: the same kind of events (a subset) with one event per transaction (runner
  batch_size=1: each event's upserts + checkpoint, then commit) — the usual hand-written
  projection; the ratio is batched/naive events per second;
- queries: `query tracks` filters on the 100,000 tracks, 30 runs each (p50/p95), plus
  EXPLAIN (ANALYZE) of each, listing the indexes the plan uses.
Prints JSON and writes benchmarks/results/projection_postgres.json. Schemas and topics are
dropped afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import text

from benchmarks.machine import write_result
from infra.settings import Settings, get_settings
from projections.postgres.queries import TrackQuery, build_query, search_tracks
from projections.postgres.writer import PostgresWriter, postgres_spec
from projections.reads import track_query
from projections.runner import ProjectionRunner
from schemas.analysis_events import AnalysisCompleted, AnalysisCompletedPayload, Features
from schemas.codec import encode
from schemas.envelope import file_id_for, utcnow
from schemas.file_events import FileDiscovered, FileDiscoveredPayload, FileInfo, Tags

KEYS = [(k, s, c) for k, s, c in [
    ("A", "minor", "8A"), ("E", "minor", "9A"), ("B", "minor", "10A"), ("F#", "minor", "11A"),
    ("C#", "minor", "12A"), ("G#", "minor", "1A"), ("D#", "minor", "2A"), ("A#", "minor", "3A"),
    ("F", "minor", "4A"), ("C", "minor", "5A"), ("G", "minor", "6A"), ("D", "minor", "7A"),
    ("C", "major", "8B"), ("G", "major", "9B"), ("D", "major", "10B"), ("A", "major", "11B"),
    ("E", "major", "12B"), ("B", "major", "1B"), ("F#", "major", "2B"), ("C#", "major", "3B"),
    ("G#", "major", "4B"), ("D#", "major", "5B"), ("A#", "major", "6B"), ("F", "major", "7B")]]
# Names from small vocabularies: realistic repetition (artists have many tracks, titles
# share words) without the degenerate "artist 1..N" that makes every row similar to a search.
WORDS = ("night", "drive", "golden", "echo", "river", "neon", "summer", "ghost", "velvet",
         "signal", "horizon", "pulse", "midnight", "crystal", "shadow", "fever", "ocean",
         "paper", "glass", "orbit", "static", "honey", "ember", "tide", "satellite", "wild",
         "silver", "dust", "mirror", "electric", "bloom", "northern", "quiet", "storm", "lights",
         "harbour", "motion", "gravity", "desert", "violet", "cascade", "hollow", "lantern")
FIRST = ("the", "dj", "los", "young", "black", "little", "kid", "saint", "big", "mr", "dr",
         "lady", "royal", "high", "dead", "secret", "lost", "modern", "future", "analog")
QUERIES: dict[str, dict[str, Any]] = {
    "key_camelot_and_bpm": {"key": "8A", "bpm": "120..128"},
    "key_name": {"key": "Am"},
    "compatible_with_and_bpm": {"compatible_with": "8A", "bpm": "122..126"},
    "substring_search": {"search": "saint velvet"},
    "fuzzy_search_with_a_typo": {"search": "midnigt fever"},
    "status": {"status": "failed"},
}


def make_events(n_files: int, seed: int, prefix: str) -> list[Any]:
    rng = random.Random(seed)
    now = utcnow()
    out: list[Any] = []
    for i in range(n_files):
        rel = f"{prefix}/{i:06d}.flac"
        fid = file_id_for("/lib", rel)
        title = f"{rng.choice(WORDS)} {rng.choice(WORDS)}"
        artist = f"{rng.choice(FIRST)} {rng.choice(WORDS)}"
        info = FileInfo(path=f"/lib/{rel}", library_root="/lib", relative_path=rel,
                        size=30_000_000, mtime=1.0, content_hash=f"{i:032x}", format="flac",
                        tags=Tags(artist=artist, title=title, year=2000 + i % 25,
                                  album=" ".join(rng.choice(WORDS) for _ in range(3))))
        out.append(FileDiscovered.create(file_id=fid, correlation_id="bench", occurred_at=now,
                                         payload=FileDiscoveredPayload(file=info)))
        out.append(AnalysisCompleted.create(
            file_id=fid, correlation_id="bench", payload=AnalysisCompletedPayload(
                analysis_id=uuid.uuid4().hex, path=info.path, content_hash=info.content_hash,
                features=features(rng), processing_ms=900.0)))
    return out


def features(rng: random.Random) -> Features:
    key, scale, camelot = rng.choice(KEYS)
    return Features(duration_s=300.0, sample_rate=44100, channels=2, codec="flac",
                    bit_rate=None, bpm=round(rng.uniform(80, 160), 2), bpm_confidence=0.9,
                    beats_count=600, first_beat_s=0.1, grid_confidence=0.9,
                    downbeat_s=0.1, beats_per_bar=4, key=key, scale=scale, key_strength=0.8,
                    tuning_cents=0.0,
                    camelot=camelot,
                    open_key="1m", loudness_lufs=-9.0, loudness_range_lu=6.0, peak_dbfs=-0.5,
                    replay_gain_db=-9.0, danceability=0.7, energy=rng.random(), arousal=0.5,
                    valence=0.5, mood="neutral", analyzer_version=1,
                    fingerprint=None)


async def produce(settings: Settings, events: list[Any], files: str, analysis: str) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all",
                                linger_ms=20, max_batch_size=1024 * 1024)
    await producer.start()
    started = time.perf_counter()
    try:
        futures = [await producer.send(analysis if isinstance(e, AnalysisCompleted) else files,
                                       encode(e), key=e.file_id.encode()) for e in events]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def catch_up(settings: Settings, schema: str, topics: list[str],
                   batch_size: int) -> dict[str, Any]:
    runner = ProjectionRunner(postgres_spec(settings, schema), settings, topics,
                              group_id=f"bench.{schema}", batch_size=batch_size)
    await runner.start()  # migrations + joining the group are not part of the figure
    started = time.perf_counter()
    try:
        applied = await runner.run_until_caught_up(timeout_s=1800)
    finally:
        await runner.stop()
    seconds = time.perf_counter() - started
    return {"events": applied, "seconds": round(seconds, 2),
            "events_per_s": round(applied / seconds), "batch_size": batch_size}


def index_names(plan: Any) -> list[str]:
    found: list[str] = []
    if isinstance(plan, dict):
        if "Index Name" in plan:
            found.append(plan["Index Name"])
        for value in plan.values():
            found += index_names(value)
    elif isinstance(plan, list):
        for value in plan:
            found += index_names(value)
    return found


async def measure_queries(settings: Settings, schema: str, runs: int) -> dict[str, Any]:
    writer = PostgresWriter(settings, schema)
    results: dict[str, Any] = {}
    try:
        async with writer.engine.connect() as conn:
            await conn.execute(text(f"ANALYZE {schema}.tracks"))
            for name, options in QUERIES.items():
                query = track_query(**{"key": None, "compatible_with": None, "bpm": None,
                                       "search": None, "status": None, "limit": 50, **options})
                results[name] = await time_query(conn, writer, query, runs)
                results[name]["options"] = options
    finally:
        await writer.close()
    return results


async def time_query(conn: Any, writer: PostgresWriter, query: TrackQuery,
                     runs: int) -> dict[str, Any]:
    timings, rows = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        rows = len(await search_tracks(conn, writer.tables, query))
        timings.append((time.perf_counter() - started) * 1000)
    result = {"rows": rows, "p50_ms": round(statistics.median(timings), 2),
              "p95_ms": round(sorted(timings)[int(0.95 * (len(timings) - 1))], 2),
              "max_ms": round(max(timings), 2)}
    passes = {"plan": False, "fuzzy_pass_plan": True} if query.search else {"plan": False}
    for label, fuzzy in passes.items():
        sql = str(build_query(writer.tables, query, fuzzy=fuzzy).compile(
            dialect=writer.engine.dialect, compile_kwargs={"literal_binds": True}))
        raw = (await conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")).scalar_one()
        plan = json.loads(raw) if isinstance(raw, str) else raw
        result[label] = {"execution_ms": round(plan[0]["Execution Time"], 2),
                         "indexes_used": sorted(set(index_names(plan)))}
    return result


def cli_wall_seconds(schema: str) -> float:
    """One `tracktion query tracks` end to end, interpreter start-up included."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "streams.cli.main", "query", "tracks", "--schema",
                    schema, "--key", "8A", "--bpm", "120..128", "--json"], check=True,
                   capture_output=True)
    return round(time.perf_counter() - started, 2)


async def cleanup(settings: Settings, schemas: list[str], topics: list[str]) -> None:
    writer = PostgresWriter(settings, "public")
    async with writer.engine.begin() as conn:
        for schema in schemas:
            await conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    await writer.close()
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    await admin.delete_topics(topics)
    await admin.close()


async def main(args: argparse.Namespace) -> None:
    # stdout carries only the JSON result; the runner's logs go to stderr.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    settings = get_settings()
    token = uuid.uuid4().hex[:8]
    big = [f"bench.pg.files.{token}", f"bench.pg.analysis.{token}"]
    small = [f"bench.pg.naive.files.{token}", f"bench.pg.naive.analysis.{token}"]
    schemas = [f"bench_{token}_batched", f"bench_{token}_naive"]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    await admin.create_topics([NewTopic(t, args.partitions, 1) for t in big + small])
    await admin.close()
    try:
        events = make_events(args.files, seed=1, prefix="big")
        produce_s = await produce(settings, events, *big)
        naive_events = make_events(args.naive_events // 2, seed=2, prefix="small")
        await produce(settings, naive_events, *small)
        del events, naive_events
        batched = await catch_up(settings, schemas[0], big, batch_size=500)
        naive = await catch_up(settings, schemas[1], small, batch_size=1)
        queries = await measure_queries(settings, schemas[0], args.runs)
        result = {
            "command": "python -m benchmarks.projection_postgres " + " ".join(sys.argv[1:]),
            "events_total": args.files * 2, "partitions_per_topic": args.partitions,
            "produce_seconds": round(produce_s, 2),
            "batched": batched, "naive_one_event_per_transaction": naive,
            "speedup_batched_vs_naive": round(batched["events_per_s"] / naive["events_per_s"], 1),
            "queries_on_tracks": args.files, "queries": queries,
            "cli_query_tracks_wall_s": cli_wall_seconds(schemas[0]),
            "targets": {"events_per_s": 5000, "query_ms": 200},
        }
    finally:
        if not args.keep:
            await cleanup(settings, schemas, big + small)
    write_result("projection_postgres", result)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000,
                        help="files: one FileDiscovered + one AnalysisCompleted each")
    parser.add_argument("--naive-events", type=int, default=5_000)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--runs", type=int, default=30, help="timed runs per query")
    parser.add_argument("--keep", action="store_true", help="keep schemas and topics")
    asyncio.run(main(parser.parse_args()))
