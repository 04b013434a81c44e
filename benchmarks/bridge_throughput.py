"""Bridge throughput: RabbitMQ queue -> Kafka lanes, beside a raw aiokafka producer, same run.

    .venv/bin/python -m benchmarks.bridge_throughput [--events 100000]

The queue is filled first, then the bridge drains it: the figure is the bridge alone
(consume, validate, route, produce with acks=all, ack after Kafka). It is measured in this
process, then as 1 and 2 `tracktion worker --role bridge` processes sharing the queue.
The raw producer sends the same bodies with the same producer settings and no RabbitMQ
at all: the ratio says how much of Kafka's own speed the bridge keeps.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid

import aio_pika
from aiokafka import AIOKafkaProducer

from benchmarks.machine import write_result
from infra.amqp import Topology
from infra.kafka_admin import ensure_topics
from infra.settings import get_settings
from schemas.codec import encode
from schemas.envelope import PRIORITIES, file_id_for
from schemas.file_events import FileDiscovered, FileDiscoveredPayload, FileInfo
from schemas.namespace import Namespace
from schemas.topics import catalogue
from streams.bridge.bridge import Bridge
from streams.publishing.sinks import RabbitSink, event_headers


def make_events(n: int) -> list[FileDiscovered]:
    out = []
    for i in range(n):
        rel = f"bench/{i:06}.mp3"
        info = FileInfo(path=f"/lib/{rel}", library_root="/lib", relative_path=rel,
                        size=5_000_000 + i, mtime=1.0, content_hash=f"{i:032x}", format="mp3")
        out.append(FileDiscovered.create(file_id=file_id_for("/lib", rel), correlation_id="bench",
                                         priority=PRIORITIES[i % 3],
                                         payload=FileDiscoveredPayload(file=info)))
    return out


async def raw_producer(bootstrap: str, topic: str, events: list[FileDiscovered]) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                                linger_ms=5, max_batch_size=512 * 1024)
    await producer.start()
    started = time.perf_counter()
    futures = []
    for event in events:
        futures.append(await producer.send(topic, encode(event), key=event.file_id.encode()))
        if len(futures) >= 5000:
            await asyncio.gather(*futures)
            futures.clear()
    await asyncio.gather(*futures)
    elapsed = time.perf_counter() - started
    await producer.stop()
    return len(events) / elapsed


async def fill_queue(url: str, prefix: str, events: list[FileDiscovered]) -> float:
    sink = RabbitSink(url, Namespace(prefix))
    await sink.start()
    started = time.perf_counter()
    for event in events:
        await sink.send(event, event_headers(event, {}))
    await sink.flush()
    elapsed = time.perf_counter() - started
    await sink.close()
    return len(events) / elapsed


async def drain_with_bridge(url: str, bootstrap: str, prefix: str, n: int) -> float:
    bridge = Bridge(url, bootstrap, Namespace(prefix))
    await bridge.start()
    runner = asyncio.create_task(bridge.run())
    started = time.perf_counter()
    while bridge.forwarded + bridge.deadlettered < n:
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    await bridge.stop()
    await runner
    return n / elapsed


async def queue_depth(url: str, prefix: str) -> int:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(Topology(Namespace(prefix)).queue, passive=True)
        return int(queue.declaration_result.message_count or 0)


async def drain_with_processes(url: str, prefix: str, n: int, processes: int) -> float:
    """Several `tracktion worker --role bridge` processes on one queue (how the bridge scales).

    Timed from the first message leaving the queue to the queue being empty and acked, so
    interpreter start-up is not counted.
    """
    env = {**os.environ, "TRACKTION_TRACING": "off", "LOG_LEVEL": "WARNING"}
    procs = [subprocess.Popen([sys.executable, "-m", "streams.cli.main", "worker", "--role",
                               "bridge", "--prefix", prefix, "--port", "0"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(processes)]
    try:
        while await queue_depth(url, prefix) >= n:
            await asyncio.sleep(0.02)
        started = time.perf_counter()
        while await queue_depth(url, prefix) > 0:
            await asyncio.sleep(0.05)
        return n / (time.perf_counter() - started)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)


async def cleanup(url: str, bootstrap: str, prefix: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(Topology(Namespace(prefix)).queue)
        await channel.exchange_delete(Topology(Namespace(prefix)).exchange)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.delete_topics([s.name for s in catalogue(Namespace(prefix))] + [f"{prefix}.raw"])
    await admin.close()


async def main(n: int) -> None:
    os.environ["TRACKTION_TRACING"] = "off"
    settings = get_settings()
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    bootstrap = settings.kafka_bootstrap_servers
    from schemas.topics import TopicSpec

    await ensure_topics(bootstrap, settings.kafka_partitions, Namespace(prefix))
    await ensure_topics(bootstrap, settings.kafka_partitions,
                        specs=[TopicSpec(f"{prefix}.raw", "raw producer baseline")])
    events = make_events(n)
    try:
        raw = await raw_producer(bootstrap, f"{prefix}.raw", events)
        fill = await fill_queue(settings.rabbitmq_url, prefix, events)
        bridge = await drain_with_bridge(settings.rabbitmq_url, bootstrap, prefix, n)
        scaled = {}
        for processes in (1, 2):
            await fill_queue(settings.rabbitmq_url, prefix, events)
            scaled[processes] = await drain_with_processes(settings.rabbitmq_url, prefix, n,
                                                           processes)
    finally:
        await cleanup(settings.rabbitmq_url, bootstrap, prefix)
    write_result("bridge_throughput", {
        "events": n,
        "bridge_events_per_s": round(bridge),
        "bridge_processes_events_per_s": {str(k): round(v) for k, v in scaled.items()},
        "two_process_speedup": round(scaled[2] / scaled[1], 2),
        "raw_aiokafka_producer_events_per_s": round(raw),
        "bridge_to_raw_ratio": round(bridge / raw, 3),
        "rabbitmq_publish_events_per_s": round(fill),
        "target_events_per_s": 10_000,
    })


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    asyncio.run(main(parser.parse_args().events))
