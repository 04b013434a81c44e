"""Benchmark of the tags projection: files/s writing BPM, key and ReplayGain into N small
files (half mp3, half flac, 3 s each, made from the bad-files zoo's click/tone generators).

Measured in one run, on fresh copies each time:
- kafka: N AnalysisCompleted events through ProjectionRunner (decode, apply, per-file
  hash check, tagged copy, fsync, record in Redis, rename, checkpoint), timed after the
  runner has joined its group (a one-event warm-up), so the group join is not counted;
- replay: the same events applied again by the writer, every file already up to date
  (hash + tag read per file, nothing written).
Target: >= 200 files/s through Kafka. Prints JSON and writes benchmarks/results/tags_write.json.

    .venv/bin/python -m benchmarks.tags_write [--files 500]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.machine import write_result
from benchmarks.pipeline_common import load_avg
from benchmarks.pipeline_procs import machine_cpu, machine_cpu_delta
from infra.corpus.bad_files import click_track, tone_mp3
from infra.kafka_admin import ensure_topics
from infra.logging import configure_logging
from infra.settings import get_settings
from projections.base import Positioned
from projections.runner import ProjectionRunner
from projections.tags.apply import TagIntents
from projections.tags.writer import tags_spec
from schemas.analysis_events import AnalysisCompleted, AnalysisCompletedPayload, Features
from schemas.codec import AnyEvent
from schemas.envelope import file_id_for
from schemas.namespace import Namespace
from streams.ops.namespace import drop_namespace
from streams.publishing.fileinfo import content_hash

TARGET_FILES_PER_S = 200.0
SECONDS = 3.0
FEATURES = Features(duration_s=SECONDS, sample_rate=44100, channels=2, codec="mp3",
                    bit_rate=128000, bpm=124.0, bpm_confidence=0.8, beats_count=6,
                    first_beat_s=0.0, grid_confidence=0.9, downbeat_s=0.0, beats_per_bar=4,
                    key="A", scale="minor", key_strength=0.7, tuning_cents=0.0, camelot="8A",
                    open_key="1m", loudness_lufs=-9.0, loudness_range_lu=5.0,
                    peak_dbfs=-0.3, replay_gain_db=-9.0, danceability=0.7, energy=0.8,
                    arousal=0.7, valence=0.4, mood="tense", analyzer_version=1,
                    fingerprint=None)


def library(root: Path, n: int) -> list[Path]:
    """n copies of two templates, alternating mp3 / flac, in folders of 50 (album-sized)."""
    templates = [tone_mp3(root / "t.mp3", SECONDS),
                 click_track(root / "t.flac", SECONDS, sample_rate=44100)]
    out = []
    for i in range(n):
        template = templates[i % 2]
        target = root / "lib" / f"album{i // 50:03d}" / f"{i:05d}{template.suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, target)
        out.append(target)
    return out


def events(root: Path, paths: list[Path]) -> list[AnyEvent]:
    lib = str((root / "lib").resolve())
    out: list[AnyEvent] = []
    for path in paths:
        rel = path.resolve().relative_to(lib).as_posix()
        out.append(AnalysisCompleted.create(
            file_id=file_id_for(lib, rel), correlation_id="bench",
            payload=AnalysisCompletedPayload(
                analysis_id=uuid.uuid4().hex, path=str(path.resolve()),
                content_hash=content_hash(path), features=FEATURES, processing_ms=1.0)))
    return out


async def produce(bootstrap: str, topic: str, items: list[AnyEvent]) -> None:
    from aiokafka import AIOKafkaProducer

    from schemas.codec import encode

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    await producer.start()
    try:
        futures = [await producer.send(topic, encode(e), key=e.file_id.encode()) for e in items]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(n: int) -> dict[str, Any]:
    settings = get_settings()
    prefix = f"bt{uuid.uuid4().hex[:8]}"
    ns = Namespace(prefix)
    await ensure_topics(settings.kafka_bootstrap_servers, 3, ns)
    topic = ns.analysis_topic
    spec = tags_spec(settings.redis_url, ns.redis_prefix)
    runner = ProjectionRunner(spec, settings, [topic], group_id=ns.projection_group("tags"),
                              batch_size=64)
    try:
        with tempfile.TemporaryDirectory(prefix="tags-bench-") as tmp:
            root = Path(tmp)
            paths = library(root, n + 1)
            todo = events(root, paths)
            await produce(settings.kafka_bootstrap_servers, topic, todo[:1])
            await runner.run_until_caught_up(timeout_s=120)  # joined, warm
            await produce(settings.kafka_bootstrap_servers, topic, todo[1:])
            load0, machine0, cpu0 = load_avg(), machine_cpu(), cpu_s()
            started = time.perf_counter()
            applied = await runner.run_until_caught_up(timeout_s=600)
            wall = time.perf_counter() - started
            ours_cpu, machine1 = cpu_s() - cpu0, machine_cpu()
            load1 = load_avg()
            intents = spec.projector.apply([Positioned(e, topic, 0, i)
                                            for i, e in enumerate(todo[1:])])
            assert isinstance(intents, TagIntents)
            started = time.perf_counter()
            await spec.writer.write("tags-replay", intents, {})
            replay_wall = time.perf_counter() - started
    finally:
        await runner.stop()
        await drop_namespace(settings, ns, ("redis", "kafka"))
    rate = applied / wall
    return {
        "files": n, "formats": "mp3 + flac alternating", "seconds_per_file": SECONDS,
        "kafka": {"files_per_s": round(rate, 1), "wall_s": round(wall, 2),
                  "events_applied": applied, "cpu_s_per_file_ms": round(ours_cpu / n * 1000, 2),
                  "target_files_per_s": TARGET_FILES_PER_S,
                  "meets_target": rate >= TARGET_FILES_PER_S},
        "replay_up_to_date": {"files_per_s": round(n / replay_wall, 1),
                              "wall_s": round(replay_wall, 2)},
        "load_avg_before_after": [load0, load1],
        "machine_cpu": machine_cpu_delta(machine0, machine1, ours_cpu),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=500)
    args = parser.parse_args()
    configure_logging("tracktion-bench", "WARNING", "json")  # one line per file otherwise
    write_result("tags_write", asyncio.run(run(args.files)))


if __name__ == "__main__":
    main()
