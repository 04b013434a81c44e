"""Drop everything one namespace (topic and store prefix) created, in every store.

Tests and benchmarks run side by side in the one set of servers, each under its own prefix;
this drops what a prefix leaves, by the names its Namespace derives: a Postgres schema,
Neo4j nodes tagged `ns`, Redis keys, the Kafka topic catalogue and the RabbitMQ
queue/exchange.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

from infra.settings import Settings
from schemas.namespace import Namespace

STORES = ("postgres", "neo4j", "redis", "kafka", "rabbitmq")


async def drop_namespace(settings: Settings, ns: Namespace,
                         stores: Iterable[str] = STORES,
                         timeout_s: float = 60.0) -> dict[str, BaseException]:
    """Each store is tried even if another fails; returns the failures by store."""
    if not isinstance(ns, Namespace):
        # Callers outside mypy's reach (tests, benchmarks) would otherwise see only each
        # store's AttributeError among the returned failures.
        raise TypeError(f"drop_namespace takes a Namespace, not {type(ns).__name__}: "
                        "drop_namespace(settings, Namespace(prefix))")
    steps: dict[str, Callable[[Settings, Namespace], Awaitable[None]]] = {
        "postgres": _postgres, "neo4j": _neo4j, "redis": _redis, "kafka": _kafka,
        "rabbitmq": _rabbitmq}
    failed: dict[str, BaseException] = {}
    for store in stores:
        try:
            await asyncio.wait_for(steps[store](settings, ns), timeout_s)
        except Exception as exc:  # the caller decides which failures matter
            failed[store] = exc
    return failed


async def _postgres(settings: Settings, ns: Namespace) -> None:
    import asyncpg

    conn = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {ns.pg_schema} CASCADE")  # created unquoted
    finally:
        await conn.close()


async def _neo4j(settings: Settings, ns: Namespace) -> None:
    from neo4j import AsyncGraphDatabase

    driver = AsyncGraphDatabase.driver(settings.neo4j_uri,
                                       auth=(settings.neo4j_user, settings.neo4j_password))
    try:
        await driver.execute_query("MATCH (n {ns: $ns}) DETACH DELETE n", ns=ns.neo4j_ns)
    finally:
        await driver.close()


async def _redis(settings: Settings, ns: Namespace) -> None:
    from projections.redis.writer import connect, delete_prefix

    client = connect(settings.redis_url)
    try:
        await delete_prefix(client, ns.redis_prefix)
    finally:
        await client.aclose()


async def _kafka(settings: Settings, ns: Namespace) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    from schemas.topics import catalogue

    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        present = set(await admin.list_topics())  # deleting a missing topic is an error
        names = [t.name for t in catalogue(ns) if t.name in present]
        if names:
            await admin.delete_topics(names)
    finally:
        await admin.close()


async def _rabbitmq(settings: Settings, ns: Namespace) -> None:
    import aio_pika

    connection = await aio_pika.connect(settings.rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(ns.amqp_queue)
        await channel.exchange_delete(ns.amqp_exchange)
