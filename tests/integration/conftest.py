"""Fixtures for the real local stack: isolation per test, loud failure when it is down."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlparse

import pytest

from infra.settings import Settings

START_HINT = "start it with `make stack-up` (or `.venv/bin/tracktion stack up`)"


def _hostport(url: str, default_port: int) -> tuple[str, int]:
    if "://" not in url:
        url = f"tcp://{url}"
    parsed = urlparse(url.split(",")[0])
    return parsed.hostname or "127.0.0.1", parsed.port or default_port


def require_tcp(name: str, url: str, default_port: int) -> None:
    host, port = _hostport(url, default_port)
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as exc:
        pytest.fail(f"{name} is not reachable at {host}:{port} ({exc}); {START_HINT}",
                    pytrace=False)


def _targets(settings: Settings) -> dict[str, tuple[str, str, int]]:
    return {
        "kafka": ("Kafka", settings.kafka_bootstrap_servers, 9092),
        "postgres": ("PostgreSQL", settings.database_url.replace("+asyncpg", ""), 5432),
        "redis": ("Redis", settings.redis_url, 6379),
        "rabbitmq": ("RabbitMQ", settings.rabbitmq_url, 5672),
        "neo4j": ("Neo4j", settings.neo4j_uri, 7687),
        "jaeger": ("Jaeger", settings.jaeger_query_url, 16686),
    }


@pytest.fixture(autouse=True)
def _stack_reachable(request: pytest.FixtureRequest, settings: Settings) -> None:
    """Fail (never skip) when a service the test module needs is down, naming the fix.

    A module may declare `SERVICES = ("kafka", ...)`; by default all six are required.
    """
    if os.environ.get("TRACKTION_TESTCONTAINERS") == "1":
        pytest.fail("TRACKTION_TESTCONTAINERS=1 needs a Docker engine; none is usable here",
                    pytrace=False)
    targets = _targets(settings)
    for name in getattr(request.module, "SERVICES", tuple(targets)):
        require_tcp(*targets[name])


@pytest.fixture
async def kafka_topic(settings: Settings, uid: str) -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """Factory creating uniquely named topics for one test, deleted afterwards."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    created: list[str] = []

    async def make(base: str = "t", partitions: int = 6) -> str:
        name = f"test.{base}.{uid}.{len(created)}"
        await admin.create_topics([NewTopic(name, partitions, 1)])
        created.append(name)
        return name

    try:
        yield make
    finally:
        if created:
            try:
                await admin.delete_topics(created)
            except Exception:
                pass  # best effort: unique names keep leftovers harmless
        await admin.close()
