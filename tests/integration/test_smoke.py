"""One real round trip through every server of the local stack."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Awaitable, Callable

import aio_pika
import asyncpg
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from neo4j import AsyncGraphDatabase
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from infra.kafka_admin import partition_ids
from infra.settings import Settings
from tests.integration.kafka_utils import expected_partition


async def test_kafka_keyed_round_trip(settings: Settings,
                                      kafka_topic: Callable[..., Awaitable[str]]) -> None:
    topic = await kafka_topic("smoke", partitions=6)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers,
                                acks="all", enable_idempotence=True)
    await producer.start()
    try:
        meta = await producer.send_and_wait(topic, b"hello", key=b"file-42")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, meta.partition)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        batch = await consumer.getmany(tp, timeout_ms=10_000)
    finally:
        await consumer.stop()
    records = batch.get(tp, [])
    assert [(r.key, r.value) for r in records] == [(b"file-42", b"hello")]
    assert len(await partition_ids(settings.kafka_bootstrap_servers, topic)) == 6
    # The broker put the keyed record where Kafka's default partitioner says it belongs.
    assert meta.partition == expected_partition(b"file-42", 6)


async def test_postgres_row_round_trip(settings: Settings, uid: str) -> None:
    conn = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    schema = f"smoke_{uid}"
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        await conn.execute(f"CREATE TABLE {schema}.t (id int primary key, v text)")
        await conn.execute(f"INSERT INTO {schema}.t VALUES (1, 'x')")
        assert await conn.fetchval(f"SELECT v FROM {schema}.t WHERE id = 1") == "x"
    finally:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.close()


async def test_neo4j_bolt_round_trip(settings: Settings, uid: str) -> None:
    driver = AsyncGraphDatabase.driver(settings.neo4j_uri,
                                       auth=(settings.neo4j_user, settings.neo4j_password))
    try:
        async with driver.session() as session:
            await session.run("CREATE (:Smoke {uid: $uid, v: 7})", uid=uid)
            record = await (await session.run(
                "MATCH (n:Smoke {uid: $uid}) RETURN n.v AS v", uid=uid)).single()
            assert record is not None and record["v"] == 7
            await session.run("MATCH (n:Smoke {uid: $uid}) DELETE n", uid=uid)
    finally:
        await driver.close()


async def test_redis_round_trip(settings: Settings, uid: str) -> None:
    client = aioredis.from_url(settings.redis_url)
    try:
        await client.set(f"smoke:{uid}", "v", ex=60)
        assert await client.get(f"smoke:{uid}") == b"v"
    finally:
        await client.aclose()


async def test_rabbitmq_persistent_round_trip(settings: Settings, uid: str) -> None:
    connection = await aio_pika.connect_robust(settings.rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(f"smoke.{uid}", durable=True, auto_delete=False)
        await channel.default_exchange.publish(
            aio_pika.Message(b"ping", delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=queue.name)
        message = await queue.get(timeout=5, fail=True)
        assert message is not None
        await message.ack()
        assert message.body == b"ping"
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        await queue.delete(if_unused=False, if_empty=False)


async def test_otlp_span_reaches_jaeger(settings: Settings, uid: str) -> None:
    service = f"smoke-{uid}"
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(
        OTLPSpanExporter(endpoint=settings.otel_exporter_otlp_endpoint, insecure=True)))
    with provider.get_tracer("smoke").start_as_current_span("smoke-span") as span:
        span.set_attribute("correlation_id", uid)
        trace_id = format(span.get_span_context().trace_id, "032x")
    provider.shutdown()
    assert trace.INVALID_SPAN is not span
    url = f"{settings.jaeger_query_url}/api/traces?service={service}"
    deadline = time.monotonic() + 20
    found: list[str] = []
    while time.monotonic() < deadline and trace_id not in found:
        await asyncio.sleep(0.5)
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                data = json.load(resp)
        except OSError:
            continue
        found = [t["traceID"] for t in data.get("data") or []]
    assert trace_id in found, f"trace {trace_id} not in Jaeger for service {service}: {found}"
