"""The RabbitMQ to Kafka bridge against the real brokers: round trip, no loss under SIGKILL,
dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from pathlib import Path

import aio_pika

from infra.amqp import Topology, declare
from infra.corpus.bad_files import click_track
from infra.kafka_admin import ensure_topics
from infra.settings import Settings
from infra.telemetry import init_tracing
from schemas.analysis_events import AnalysisCompleted
from schemas.codec import decode, encode
from schemas.envelope import PRIORITIES, file_id_for
from schemas.file_events import FileDiscovered, FileDiscoveredPayload, FileInfo
from schemas.namespace import Namespace
from streams.bridge.bridge import Bridge
from streams.ops.worker_process import WorkerProcess
from streams.publishing.publisher import publish_paths
from streams.publishing.sinks import RabbitSink, event_headers
from tests.integration.kafka_utils import (
    Record,
    expected_partition,
    read_topic,
    stack_service,
    wait_until,
)

PARTITIONS = 6
SERVICES = ("kafka", "rabbitmq", "jaeger", "redis")


async def lane_records(settings: Settings, prefix: str) -> list[Record]:
    out: list[Record] = []
    for lane in PRIORITIES:
        out.extend(await read_topic(settings.kafka_bootstrap_servers,
                                    Namespace(prefix).lane_topic(lane)))
    return out


async def wait_for_count(settings: Settings, prefix: str, n: int, timeout_s: float) -> None:
    async def enough() -> bool:
        return len(await lane_records(settings, prefix)) >= n

    assert await wait_until(enough, timeout_s), f"fewer than {n} events reached Kafka"


def make_library(root: Path, n: int) -> None:
    for i in range(n):
        path = root / f"artist{i % 3}" / f"track{i:03}.mp3"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(random.randbytes(500 + i * 40))


async def test_publish_via_rabbitmq_arrives_once_per_file_in_its_partition(
        settings: Settings, prefix: str, tmp_path: Path) -> None:
    init_tracing("tracktion-publish", settings.otel_exporter_otlp_endpoint)
    make_library(tmp_path / "lib", 40)
    result = await publish_paths([tmp_path / "lib"], settings, via="rabbitmq",
                                 ns=Namespace(prefix))
    assert (result.files, result.published, result.errors) == (40, 40, [])
    bridge = WorkerProcess("bridge", prefix, tmp_path / "bridge.log")
    bridge.start()
    try:
        await wait_for_count(settings, prefix, 40, 60)
        await asyncio.sleep(1)  # would reveal extra copies arriving late
        records = await lane_records(settings, prefix)
    finally:
        bridge.stop_quietly()
    assert len(records) == 40
    paths = set()
    for record in records:
        event = decode(record.value)
        assert isinstance(event, FileDiscovered)
        paths.add(event.payload.file.relative_path)
        assert record.key == event.file_id.encode()
        assert record.partition == expected_partition(record.key, PARTITIONS)
        assert record.headers["correlation_id"] == result.correlation_id.encode()
        assert record.headers["event_id"] == event.event_id.encode()
        assert record.headers["traceparent"].startswith(b"00-")
    assert len(paths) == 40


def synthetic_event(i: int, correlation_id: str) -> FileDiscovered:
    rel = f"bulk/{i:05}.mp3"
    info = FileInfo(path=f"/lib/{rel}", library_root="/lib", relative_path=rel, size=1000 + i,
                    mtime=1.0, content_hash=f"{i:032x}", format="mp3")
    return FileDiscovered.create(file_id=file_id_for("/lib", rel), correlation_id=correlation_id,
                                 priority=PRIORITIES[i % 3],
                                 payload=FileDiscoveredPayload(file=info))


async def publish_synthetic(settings: Settings, prefix: str, n: int, start: int = 0) -> set[str]:
    sink = RabbitSink(settings.rabbitmq_url, Namespace(prefix))
    await sink.start()
    ids = set()
    try:
        for i in range(start, start + n):
            event = synthetic_event(i, "no-loss")
            ids.add(event.event_id)
            await sink.send(event, event_headers(event, {}))
        await sink.flush()
    finally:
        await sink.close()
    return ids


async def test_no_loss_when_the_bridge_is_killed_three_times(
        settings: Settings, prefix: str, tmp_path: Path) -> None:
    sent = await publish_synthetic(settings, prefix, 5000)
    log = tmp_path / "bridge.log"
    rng = random.Random(7)
    for _ in range(3):
        bridge = WorkerProcess("bridge", prefix, log)
        bridge.start()

        async def started(before: int = log.read_text().count("bridge_started")
                          if log.exists() else 0) -> bool:
            return log.exists() and log.read_text().count("bridge_started") > before

        assert await wait_until(started, 60, 0.05), log.read_text()[-2000:]
        await asyncio.sleep(rng.uniform(0.05, 0.5))
        bridge.kill()
    bridge = WorkerProcess("bridge", prefix, log)
    bridge.start()
    try:
        await wait_for_count(settings, prefix, 5000, 120)
        records = await lane_records(settings, prefix)
    finally:
        bridge.stop_quietly()
    seen = Counter(r.headers["event_id"].decode() for r in records)
    missing = sent - set(seen)
    duplicates = sum(c - 1 for c in seen.values())
    print(f"no-loss: sent={len(sent)} received={len(records)} duplicates={duplicates}")
    assert not missing, f"{len(missing)} events lost"


async def test_malformed_messages_are_deadlettered_and_the_queue_keeps_flowing(
        settings: Settings, prefix: str, tmp_path: Path) -> None:
    good = [synthetic_event(i, "dl") for i in range(5)]
    bad = {
        b"not json at all": "malformed",
        b'{"event_type": "SongSung", "schema_version": 1}': "unknown_event_type",
        encode(good[0]).replace(b'"schema_version":1', b'"schema_version":42'):
            "unsupported_version",
        b'{"event_type": "FileDiscovered", "schema_version": 1, "event_id": "x"}': "invalid",
    }
    connection = await aio_pika.connect(settings.rabbitmq_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange, _ = await declare(channel, Topology(Namespace(prefix)))
        bodies = [*bad, *(encode(e) for e in good)]
        for body in bodies:
            await exchange.publish(aio_pika.Message(body), routing_key="file.normal.x")
    bridge = WorkerProcess("bridge", prefix, tmp_path / "bridge.log")
    bridge.start()
    try:
        await wait_for_count(settings, prefix, 5, 60)
        dead = await read_topic(settings.kafka_bootstrap_servers,
                                Namespace(prefix).deadletter_topic)
    finally:
        bridge.stop_quietly()
    assert {r.value for r in dead} == set(bad)
    for record in dead:
        reason = record.headers["deadletter_reason"].decode()
        assert reason.startswith(bad[record.value]), reason
    assert {decode(r.value).event_id for r in await lane_records(settings, prefix)} == \
        {e.event_id for e in good}


async def test_bridge_reconnects_after_rabbitmq_restarts(
        settings: Settings, prefix: str, tmp_path: Path) -> None:
    # The durable queue and persistent messages survive the broker's restart; the bridge
    # must notice its connection died, connect again and carry on without being restarted.
    log = tmp_path / "bridge.log"
    bridge = WorkerProcess("bridge", prefix, log)
    bridge.start()
    try:
        before = await publish_synthetic(settings, prefix, 200)
        await wait_for_count(settings, prefix, 200, 60)
        stack_service("down", "rabbitmq")
        stack_service("up", "rabbitmq")
        after = await publish_synthetic(settings, prefix, 200, start=200)
        await wait_for_count(settings, prefix, 400, 90)
        assert bridge.alive(), log.read_text()[-2000:]
        records = await lane_records(settings, prefix)
    finally:
        bridge.stop_quietly()
    received = {r.headers["event_id"].decode() for r in records}
    assert before | after <= received, f"{len(before | after - received)} events lost"
    assert "bridge_reconnected" in log.read_text()


def oversized_event(n_bytes: int) -> FileDiscovered:
    """A valid event whose path alone is `n_bytes` long: decodes fine, Kafka refuses it."""
    rel = "p" * n_bytes + ".mp3"
    info = FileInfo(path=f"/lib/{rel}", library_root="/lib", relative_path=rel, size=1,
                    mtime=1.0, content_hash="0" * 32, format="mp3")
    return FileDiscovered.create(file_id=file_id_for("/lib", "poison"), correlation_id="poison",
                                 payload=FileDiscoveredPayload(file=info))


async def publish_raw(settings: Settings, prefix: str, event: FileDiscovered) -> None:
    """Straight to the exchange, as a producer that knows no size limit would."""
    connection = await aio_pika.connect(settings.rabbitmq_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange, _ = await declare(channel, Topology(Namespace(prefix)))
        await exchange.publish(aio_pika.Message(encode(event), headers=dict(
            event_headers(event, {}))), routing_key="file.normal.FileDiscovered")


async def first_arrival_s(settings: Settings, prefix: str, known: int, start: int) -> float:
    """Publish one more event; seconds from before its publish to the bridge's Kafka record."""
    t0 = time.time()
    (event_id,) = await publish_synthetic(settings, prefix, 1, start=start)
    await wait_for_count(settings, prefix, known + 1, 30)
    (record,) = [r for r in await lane_records(settings, prefix)
                 if r.headers["event_id"] == event_id.encode()]
    return record.timestamp_ms / 1000 - t0


def completed(records: list[Record]) -> list[str]:
    return [decode(r.value).file_id for r in records
            if isinstance(decode(r.value), AnalysisCompleted)]


async def test_a_5mb_poison_message_among_20_files_is_deadlettered_and_analysed_once(
        settings: Settings, prefix: str, tmp_path: Path) -> None:
    # Before: Kafka refused the 5 MB record, the bridge nacked its whole batch every second
    # forever, and the good records of that batch went into Kafka again on every retry.
    library = tmp_path / "lib"
    library.mkdir()
    click = click_track(tmp_path / "click.mp3", 8.0)
    for i in range(20):
        (library / f"track{i:02}.mp3").write_bytes(click.read_bytes() + bytes([i]) * 64)
    poison = oversized_event(5 * 1024 * 1024)
    await publish_raw(settings, prefix, poison)
    result = await publish_paths([library], settings, via="rabbitmq", ns=Namespace(prefix))
    assert (result.published, result.errors) == (20, [])
    env = {"TRACKTION_TRACING": "off", "ANALYSIS_MAX_WORKERS": "1"}
    bridge = WorkerProcess("bridge", prefix, tmp_path / "bridge.log", env=env)
    analysis = WorkerProcess("analysis", prefix, tmp_path / "analysis.log", env=env, port=0)
    bridge.start()
    analysis.start()
    try:
        async def twenty_done() -> bool:
            records = await read_topic(settings.kafka_bootstrap_servers,
                                       Namespace(prefix).analysis_topic)
            return len(completed(records)) >= 20

        assert await wait_until(twenty_done, 240, 1.0), \
            (tmp_path / "analysis.log").read_text()[-2000:]
        await asyncio.sleep(3)  # a bridge still retrying would add copies meanwhile
        analyses = await read_topic(settings.kafka_bootstrap_servers,
                                    Namespace(prefix).analysis_topic)
        lanes = await lane_records(settings, prefix)
        dead = await read_topic(settings.kafka_bootstrap_servers,
                                Namespace(prefix).deadletter_topic)
        done = completed(analyses)
        print(f"poison: AnalysisCompleted={len(done)} lane_records={len(lanes)} dead={len(dead)}")
        flowing_s = await first_arrival_s(settings, prefix, len(lanes), 900)
        print(f"poison: next event through the bridge in {flowing_s:.3f} s")
        assert bridge.alive(), (tmp_path / "bridge.log").read_text()[-2000:]
    finally:
        bridge.stop_quietly()
        analysis.stop_quietly()
    assert len(done) == 20 and len(set(done)) == 20
    assert len(lanes) == 20
    assert len(dead) == 1
    headers = dead[0].headers
    assert headers["deadletter_reason"].decode().startswith("too_large: ")
    assert headers["deadletter_original_bytes"] == str(len(encode(poison))).encode()
    assert headers["event_id"] == poison.event_id.encode()
    assert dead[0].value == encode(poison)[:4096]
    assert flowing_s < 1.0


async def test_a_record_kafka_refuses_is_isolated_and_the_rest_acked_once(
        settings: Settings, prefix: str, tmp_path: Path) -> None:
    # No size check in the bridge (the limit set above Kafka's): Kafka itself refuses the
    # 2 MB record. Its partition batch is resent record by record, the refused one goes to
    # the dead-letter topic as an excerpt, and every other record lands exactly once.
    before = await publish_synthetic(settings, prefix, 30)
    poison = oversized_event(2 * 1024 * 1024)
    await publish_raw(settings, prefix, poison)
    after = await publish_synthetic(settings, prefix, 30, start=30)
    bridge = WorkerProcess("bridge", prefix, tmp_path / "bridge.log",
                           env={"MAX_EVENT_BYTES": str(64 * 1024 * 1024)})
    bridge.start()
    try:
        await wait_for_count(settings, prefix, 60, 60)
        await asyncio.sleep(3)
        lanes = await lane_records(settings, prefix)
        dead = await read_topic(settings.kafka_bootstrap_servers,
                                Namespace(prefix).deadletter_topic)
        flowing_s = await first_arrival_s(settings, prefix, len(lanes), 900)
    finally:
        bridge.stop_quietly()
    seen = Counter(r.headers["event_id"].decode() for r in lanes)
    assert set(seen) == before | after and max(seen.values()) == 1
    assert len(dead) == 1
    assert dead[0].headers["deadletter_reason"].decode().startswith(
        "kafka_refused: MessageSizeTooLargeError"), dead[0].headers
    assert dead[0].headers["event_id"] == poison.event_id.encode()
    assert flowing_s < 1.0


async def test_publish_refuses_an_event_above_max_event_bytes_by_name(
        settings: Settings, prefix: str, tmp_path: Path) -> None:
    make_library(tmp_path / "lib", 3)
    small = settings.model_copy(update={"max_event_bytes": 200})
    result = await publish_paths([tmp_path / "lib"], small, via="rabbitmq",
                                 ns=Namespace(prefix))
    assert (result.files, result.published, len(result.errors)) == (3, 0, 3)
    assert all("above MAX_EVENT_BYTES=200" in error for _, error in result.errors)


async def test_a_nack_on_a_dead_channel_reconnects_instead_of_crashing_the_bridge(
        settings: Settings, prefix: str) -> None:
    # The low lane is missing, so the send fails after the producer's metadata timeout
    # (40 s); RabbitMQ restarts meanwhile, so the nack of that batch meets a dead channel.
    # Before: the nack raised out of run() and the bridge role crashed.
    from aiokafka.admin import AIOKafkaAdminClient

    low = Namespace(prefix).lane_topic("low")
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        response = await admin.delete_topics([low])
        assert [code for _, code in response.topic_error_codes] == [0], response

        # Deletion is asynchronous: a broker can list (and accept writes to) the topic for
        # a moment after the controller has deleted it, and then this test's premise, a
        # missing lane, would not hold (the batch went through and nothing failed).
        async def gone() -> bool:
            return low not in set(await admin.list_topics())

        assert await wait_until(gone, 30, 0.2), f"{low} still listed 30 s after its deletion"
    finally:
        await admin.close()
    bridge = Bridge(settings.rabbitmq_url, settings.kafka_bootstrap_servers, Namespace(prefix))
    await bridge.start()
    task = asyncio.create_task(bridge.run())
    try:
        sink = RabbitSink(settings.rabbitmq_url, Namespace(prefix))
        await sink.start()
        events = [synthetic_event(i, "nack") for i in (2, 5, 8)]  # i % 3 == 2: low
        for event in events:
            await sink.send(event, event_headers(event, {}))
        await sink.flush()
        await sink.close()
        await asyncio.sleep(2)  # the batch is in flight, waiting for the lane's metadata
        stack_service("down", "rabbitmq")
        stack_service("up", "rabbitmq")

        async def failed_once() -> bool:
            return getattr(bridge, "send_failures", 0) > 0 or task.done()

        assert await wait_until(failed_once, 90, 0.5)
        await ensure_topics(settings.kafka_bootstrap_servers, PARTITIONS, Namespace(prefix))

        async def arrived() -> bool:
            return task.done() or len(await read_topic(settings.kafka_bootstrap_servers,
                                                       low)) >= len(events)

        assert await wait_until(arrived, 90, 1.0)
        assert not task.done(), task.exception()
        got = {r.headers["event_id"].decode()
               for r in await read_topic(settings.kafka_bootstrap_servers, low)}
    finally:
        await bridge.stop()
        if not task.done():
            task.cancel()
        with contextlib.suppress(BaseException):
            await task
    assert got == {e.event_id for e in events}
