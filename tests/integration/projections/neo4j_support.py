"""Helpers for the Neo4j projection tests: its events (over tests/builders.py), a messy
library history, feeding."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import msgspec
from aiokafka import AIOKafkaProducer

from infra.settings import Settings
from projections.base import Positioned
from projections.neo4j.apply import Neo4jProjector
from projections.neo4j.camelot import all_keys
from projections.neo4j.writer import Neo4jWriter
from schemas.analysis_events import (
    AnalysisCompleted,
    AnalysisFailed,
    AnalysisStarted,
    FailureReason,
)
from schemas.codec import AnyEvent, encode
from schemas.envelope import file_id_for
from schemas.file_events import (
    FileDeleted,
    FileDiscovered,
    FileInfo,
    FileModified,
    FileMoved,
    Tags,
)
from tests import builders as build
from tests.builders import ROOT, file_info
from tests.unit.schemas.samples import FEATURES

T0 = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)
KEYS = {k.camelot: k for k in all_keys()}
ANALYSIS = (AnalysisStarted, AnalysisCompleted, AnalysisFailed)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def info(rel: str, artist: str | None = "Artist", genre: str | None = "House",
         album: str | None = "Album") -> FileInfo:
    return file_info(rel, content_hash=f"{zlib.crc32(rel.encode()):032x}",
                     tags=Tags(artist=artist, title=rel.rsplit("/", 1)[-1], album=album,
                               genre=genre))


def fid(rel: str) -> str:
    return file_id_for(ROOT, rel)


def discovered(rel: str, t: float, **tags: str | None) -> FileDiscovered:
    return build.discovered(info(rel, **tags), occurred_at=at(t))


def modified(rel: str, t: float, **tags: str | None) -> FileModified:
    return build.modified(info(rel, **tags), occurred_at=at(t))


def completed(rel: str, t: float, camelot: str, bpm: float) -> AnalysisCompleted:
    key = KEYS[camelot]
    features = msgspec.structs.replace(FEATURES, camelot=camelot, key=key.name,
                                       scale=key.scale, bpm=bpm)
    return build.completed(info(rel), features, analysis_id=f"an-{rel}-{t}", content_hash="h",
                           occurred_at=at(t))


def started(rel: str, t: float) -> AnalysisStarted:
    return build.started(info(rel), content_hash="h", occurred_at=at(t))


def failed(rel: str, t: float, reason: FailureReason = "corrupt") -> AnalysisFailed:
    return build.failed(info(rel), reason=reason, content_hash="h", occurred_at=at(t))


def deleted(rel: str, t: float) -> FileDeleted:
    return build.deleted(info(rel), occurred_at=at(t))


def moved(old: str, new: str, t: float) -> FileMoved:
    return build.moved(info(new), previous_rel=old, occurred_at=at(t))


def library_history(n: int = 60) -> list[AnyEvent]:
    """A library's life: discoveries, analyses, re-analyses, retags, failures, deletes, moves."""
    codes = sorted(KEYS)
    events: list[AnyEvent] = []
    for i in range(n):
        rel = f"lib/{i:03d}.mp3"
        events += [discovered(rel, i, artist=f"Artist {i % 7}", genre=f"G{i % 3}"),
                   started(rel, 100 + i), completed(rel, 101 + i, codes[i % 24], 90 + i)]
        if i % 5 == 0:  # re-analysed into another key and tempo
            events.append(completed(rel, 300 + i, codes[(i + 7) % 24], 170 - i))
        if i % 6 == 1:  # retagged: moves BY/ON edges; the old artist may become orphaned
            events.append(modified(rel, 400 + i, artist=f"New {i}", genre=None, album=None))
        if i % 9 == 2:
            events += [started(rel, 500 + i), failed(rel, 501 + i)]
        if i % 11 == 3:
            events.append(deleted(rel, 600 + i))
        if i % 13 == 4:  # moved, then a late re-analysis of the old id follows the move
            events += [moved(rel, f"moved/{i:03d}.mp3", 700 + i),
                       completed(rel, 650 + i, codes[(i + 3) % 24], 128.0)]
    return events


def positioned(events: Sequence[AnyEvent], topic: str = "t") -> list[Positioned]:
    return [Positioned(e, topic, 0, i) for i, e in enumerate(events)]


async def feed(writer: Neo4jWriter, items: Sequence[Positioned], batch_size: int = 50) -> None:
    """What the runner does, without Kafka: apply a batch, write it with its checkpoints."""
    projector = Neo4jProjector()
    for start in range(0, len(items), batch_size):
        batch = items[start:start + batch_size]
        checkpoints: dict[tuple[str, int], int] = {}
        for p in batch:
            key = (p.topic, p.partition)
            checkpoints[key] = max(checkpoints.get(key, -1), p.offset)
        await writer.write(projector.name, projector.apply(batch), checkpoints)


async def produce(settings: Settings, files_topic: str, analysis_topic: str,
                  events: Sequence[AnyEvent]) -> None:
    """File events to one topic, analysis events to another (not ordered with each other)."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers,
                                acks="all", linger_ms=20)
    await producer.start()
    try:
        sent = [await producer.send(analysis_topic if isinstance(e, ANALYSIS) else files_topic,
                                    encode(e), key=e.file_id.encode()) for e in events]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
