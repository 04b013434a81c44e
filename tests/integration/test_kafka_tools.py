"""Kafka's own command-line tools from the local stack (.stack/kafka/bin/*.sh) against the
real broker: what every Kafka runbook (and docs/operations.md) uses."""

from __future__ import annotations

import subprocess
from collections.abc import Awaitable, Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from infra.settings import Settings
from tests.integration.kafka_utils import REPO

SERVICES = ("kafka",)
BIN = REPO / ".stack" / "kafka" / "bin"


def tool(name: str, *args: str) -> str:
    script = BIN / f"{name}.sh"
    if not script.exists():
        pytest.fail(f"{script} is missing; install Kafka's tools with `make stack-up` "
                    "(or `.venv/bin/tracktion stack up kafka`)", pytrace=False)
    done = subprocess.run([str(script), "--bootstrap-server", "127.0.0.1:9092", *args],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{name} {args}: {done.stderr[-2000:]}"
    return done.stdout


async def test_console_consumer_reads_records_with_keys_and_headers(
        settings: Settings, kafka_topic: Callable[..., Awaitable[str]]) -> None:
    topic = await kafka_topic("tools", partitions=1)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        for i in range(3):
            await producer.send_and_wait(topic, f'{{"n": {i}}}'.encode(), key=f"file-{i}".encode(),
                                         headers=[("deadletter_reason", b"too_large: test")])
    finally:
        await producer.stop()
    out = tool("kafka-console-consumer", "--topic", topic, "--from-beginning",
               "--max-messages", "3", "--timeout-ms", "30000",
               "--property", "print.key=true", "--property", "print.headers=true",
               "--property", "key.separator= | ")
    lines = out.strip().splitlines()
    assert lines == [f'deadletter_reason:too_large: test | file-{i} | {{"n": {i}}}'
                     for i in range(3)], out
    assert tool("kafka-get-offsets", "--topic", topic).split() == [f"{topic}:0:3"]


async def test_consumer_groups_show_lag_and_reset_it(
        settings: Settings, kafka_topic: Callable[..., Awaitable[str]], uid: str) -> None:
    topic = await kafka_topic("lag", partitions=1)
    group = f"test.tools.{uid}"
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        for i in range(5):
            await producer.send_and_wait(topic, b"x%d" % i)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap_servers,
                                group_id=group, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        await consumer.getmany(timeout_ms=5000)
        await consumer.commit({TopicPartition(topic, 0): 2})  # 2 of 5 done: lag 3
    finally:
        await consumer.stop()

    def lag() -> str:
        rows = [line.split() for line in tool("kafka-consumer-groups", "--describe", "--group",
                                              group).splitlines() if topic in line]
        assert len(rows) == 1, rows
        return rows[0][5]  # GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG ...

    assert lag() == "3"
    tool("kafka-consumer-groups", "--group", group, "--topic", topic, "--reset-offsets",
         "--to-earliest", "--execute")
    assert lag() == "5"
    tool("kafka-consumer-groups", "--delete", "--group", group)
