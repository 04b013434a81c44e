"""Real-protocol probes of each dependency, for `/ready` (short timeouts, fresh connections)."""

from __future__ import annotations

from typing import Any

from infra.settings import Settings


async def kafka_probe(settings: Settings) -> dict[str, Any] | None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers,
                                request_timeout_ms=2000)
    await admin.start()
    try:
        await admin.list_topics()
    finally:
        await admin.close()
    return None


async def redis_probe(settings: Settings) -> dict[str, Any] | None:
    import redis.asyncio as aioredis

    client = aioredis.from_url(settings.redis_url, socket_connect_timeout=1.5, socket_timeout=1.5)
    try:
        await client.ping()
    finally:
        await client.aclose()
    return None


async def rabbitmq_probe(settings: Settings) -> dict[str, Any] | None:
    import aio_pika

    connection = await aio_pika.connect(settings.rabbitmq_url, timeout=2)
    await connection.close()
    return None


async def neo4j_probe(settings: Settings) -> dict[str, Any] | None:
    from neo4j import AsyncGraphDatabase

    driver = AsyncGraphDatabase.driver(settings.neo4j_uri, connection_timeout=2,
                                       auth=(settings.neo4j_user, settings.neo4j_password))
    try:
        await driver.verify_connectivity()
    finally:
        await driver.close()
    return None


async def postgres_probe(settings: Settings) -> dict[str, Any] | None:
    import asyncpg

    conn = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""), timeout=2)
    try:
        await conn.fetchval("SELECT 1")
    finally:
        await conn.close()
    return None
