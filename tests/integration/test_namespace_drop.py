"""`tracktion namespace drop` removes a prefix from every store, and guards the live one."""

from __future__ import annotations

import subprocess
import sys

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from neo4j import AsyncGraphDatabase
from redis.asyncio import Redis

from infra.kafka_admin import ensure_topics
from infra.settings import Settings
from schemas.namespace import Namespace
from schemas.topics import catalogue
from tests.integration.kafka_utils import REPO

SERVICES = ("kafka", "postgres", "neo4j", "redis", "rabbitmq")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "streams.cli.main", "namespace", *args],
                          cwd=REPO, capture_output=True, text=True, timeout=120, check=False)


async def topics(settings: Settings) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def test_drop_empties_every_store_of_the_prefix_only(settings: Settings, uid: str) -> None:
    prefix, other = f"nd{uid}", f"nk{uid}"
    for name in (prefix, other):
        await ensure_topics(settings.kafka_bootstrap_servers, 1, Namespace(name))
    pg = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    redis = Redis.from_url(settings.redis_url)
    driver = AsyncGraphDatabase.driver(settings.neo4j_uri,
                                       auth=(settings.neo4j_user, settings.neo4j_password))
    try:
        await pg.execute(f"CREATE SCHEMA {prefix}; CREATE TABLE {prefix}.t (x int)")
        await redis.set(f"{prefix}:k", "1")
        await redis.set(f"{other}:k", "1")
        await driver.execute_query("CREATE (:Probe {ns: $ns})", ns=prefix)

        done = cli("drop", prefix, "--yes")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "FAILED" not in done.stdout

        names = await topics(settings)
        assert not names & {t.name for t in catalogue(Namespace(prefix))}
        assert {t.name for t in catalogue(Namespace(other))} <= names  # another prefix is untouched
        assert await pg.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = $1",
                                 prefix) == 0
        assert await redis.exists(f"{prefix}:k") == 0 and await redis.exists(f"{other}:k") == 1
        records, _, _ = await driver.execute_query(
            "MATCH (n {ns: $ns}) RETURN count(n) AS n", ns=prefix)
        assert records[0]["n"] == 0
        again = cli("drop", prefix, "--yes")  # nothing left: still a clean success
        assert again.returncode == 0, again.stdout + again.stderr
    finally:
        cli("drop", other, "--yes")
        await pg.close()
        await redis.aclose()
        await driver.close()


def test_the_live_namespace_is_refused_without_the_explicit_flag() -> None:
    refused = cli("drop", "tracktion", "--yes")
    assert refused.returncode == 2 and "live namespace" in refused.stderr
