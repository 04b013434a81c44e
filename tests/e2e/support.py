"""Shared pieces of the end-to-end tests: a cached generated corpus and namespace cleanup."""

from __future__ import annotations

import socket
from pathlib import Path

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from neo4j import AsyncGraphDatabase

from infra.corpus.generate import generate_corpus
from infra.settings import Settings
from projections.redis.writer import connect, delete_prefix
from schemas.topics import catalogue

CORPUS_CACHE = Path(__file__).resolve().parents[2] / ".stack" / "test-corpus"


def generated_corpus(name: str, count: int, seconds: float) -> Path:
    """Deterministic by seed, so it is generated once per machine and reused."""
    out = CORPUS_CACHE / name
    if not (out / "labels.json").exists():
        generate_corpus(out, count=count, seconds=seconds, seed=42)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def cleanup_namespace(settings: Settings, prefix: str) -> None:
    conn = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {prefix} CASCADE")
    finally:
        await conn.close()
    driver = AsyncGraphDatabase.driver(settings.neo4j_uri,
                                       auth=(settings.neo4j_user, settings.neo4j_password))
    try:
        await driver.execute_query("MATCH (n {ns: $ns}) DETACH DELETE n", ns=prefix)
    finally:
        await driver.close()
    redis = connect(settings.redis_url)
    try:
        await delete_prefix(redis, f"{prefix}:")
    finally:
        await redis.aclose()
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.delete_topics([s.name for s in catalogue(prefix)])
    except Exception:
        pass  # unique names keep leftovers harmless
    finally:
        await admin.close()
