"""Helpers for integration tests: read whole topics, wait for conditions, produce events.
(Worker subprocesses: streams/ops/worker_process.py.)"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.partitioner import murmur2
from aiokafka.structs import TopicPartition

from infra.kafka_admin import partition_ids
from infra.polling import Predicate, poll_until

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]
    timestamp_ms: int = 0  # the producer's create time


def expected_partition(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner (murmur2, positive, modulo): what Java clients also use."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


async def read_topic(bootstrap: str, topic: str, timeout_s: float = 30.0) -> list[Record]:
    """Every record currently in `topic`, read up to the end offsets sampled at the start."""
    partitions = await partition_ids(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out: list[Record] = []
        deadline = time.monotonic() + timeout_s
        async def behind() -> bool:
            return any([await consumer.position(tp) < ends[tp] for tp in tps])

        while await behind():
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} did not reach the end offsets")
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for tp, records in batch.items():
                out.extend(Record(tp.topic, tp.partition, r.offset, r.key, r.value,
                                  dict(r.headers or []), r.timestamp) for r in records)
        return out
    finally:
        await consumer.stop()


def stack_service(action: str, service: str, timeout_s: float = 300) -> float:
    """`tracktion stack <action> <service>` (an outage in a test); returns its seconds."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "streams.cli.main", "stack", action, service],
                   cwd=REPO, check=True, capture_output=True, timeout=timeout_s)
    return time.monotonic() - started


async def wait_until(predicate: Predicate, timeout_s: float, interval: float = 0.5) -> bool:
    """Whether `predicate` (plain or async) held within `timeout_s`: `poll_until` as a bool,
    for `assert await wait_until(...), message`, whose message is built only on failure."""
    return await poll_until(predicate, timeout_s, interval) is not None


async def produce_events(bootstrap: str, prefix: str, events: list[Any]) -> None:
    """Write events where the pipeline would: file events to their lane, analysis events to
    the analysis topic, keyed by file id."""
    from aiokafka import AIOKafkaProducer

    from schemas.analysis_events import AnalysisCompleted, AnalysisFailed, AnalysisStarted
    from schemas.codec import encode
    from schemas.namespace import Namespace

    ns = Namespace(prefix)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    await producer.start()
    try:
        futures = []
        for event in events:
            analysis = isinstance(event, AnalysisStarted | AnalysisCompleted | AnalysisFailed)
            topic = ns.analysis_topic if analysis else ns.lane_topic(event.priority)
            futures.append(await producer.send(topic, encode(event), key=event.file_id.encode()))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
