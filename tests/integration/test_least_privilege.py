"""Least privilege on the running stack, probed as an attacker holding the app's settings would.

Before: the app's Postgres role was SUPERUSER (pg_read_file worked through it), Redis took
anyone, RabbitMQ's `guest` was an administrator, and every password was a string in the code.
"""

from __future__ import annotations

import os
import stat
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import asyncpg
import pytest
from aiormq.exceptions import ProbableAuthenticationError
from neo4j import AsyncGraphDatabase
from neo4j.exceptions import AuthError
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, NoPermissionError, ResponseError

from infra.settings import Settings, credentials_path

SERVICES = ("postgres", "redis", "rabbitmq", "neo4j")


def pg_dsn(settings: Settings) -> str:
    return settings.database_url.replace("+asyncpg", "")


async def test_the_app_role_is_no_superuser_and_cannot_read_server_files(
        settings: Settings, uid: str) -> None:
    conn = await asyncpg.connect(pg_dsn(settings))
    try:
        row = await conn.fetchrow("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles "
                                  "WHERE rolname = current_user")
        assert row is not None and not any(row.values()), dict(row or {})
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetchval("SELECT pg_read_file('/etc/hostname')")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("COPY (SELECT 1) TO PROGRAM 'true'")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("ALTER SYSTEM SET work_mem = '64MB'")
        # ...but it creates, and so owns, its own schemas (one per namespace).
        schema = f"lp{uid}"
        await conn.execute(f"CREATE SCHEMA {schema}")
        try:
            owner = await conn.fetchval(
                "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = $1", schema)
            assert owner == urlsplit(pg_dsn(settings)).username
        finally:
            await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        await conn.close()


async def test_redis_refuses_anyone_without_the_password(settings: Settings) -> None:
    url = urlsplit(settings.redis_url)
    anonymous = Redis(host=url.hostname or "127.0.0.1", port=url.port or 6379)
    try:
        with pytest.raises((AuthenticationError, ResponseError), match=r"NOAUTH|auth"):
            await anonymous.ping()
    finally:
        await anonymous.aclose()
    app = Redis.from_url(settings.redis_url)
    try:
        assert await app.ping() is True
        with pytest.raises(NoPermissionError):
            await app.execute_command("CONFIG", "GET", "dir")  # no @admin for the app user
        with pytest.raises(NoPermissionError):
            await app.execute_command("FLUSHALL")
    finally:
        await app.aclose()


async def test_rabbitmq_guest_is_gone_and_the_app_has_its_own_vhost(settings: Settings) -> None:
    url = urlsplit(settings.rabbitmq_url)
    guest = urlunsplit(url._replace(netloc=f"guest:guest@{url.hostname}:{url.port or 5672}",
                                    path="/"))
    with pytest.raises(ProbableAuthenticationError):
        await aio_pika.connect(guest, timeout=5)
    assert url.username != "guest" and url.path.strip("/") not in ("", "%2F")
    conn = await aio_pika.connect(settings.rabbitmq_url, timeout=5)
    await conn.close()


async def test_neo4j_takes_only_the_generated_password(settings: Settings) -> None:
    driver = AsyncGraphDatabase.driver(settings.neo4j_uri,
                                       auth=(settings.neo4j_user, "tracktion"))
    try:
        with pytest.raises(AuthError):
            await driver.verify_connectivity()
    finally:
        await driver.close()


def test_the_credentials_file_is_private_and_feeds_the_settings(settings: Settings) -> None:
    path = credentials_path()
    assert path.exists(), "run `tracktion stack up`: it generates the credentials"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    for value in (settings.database_url, settings.redis_url, settings.rabbitmq_url,
                  settings.neo4j_password):
        assert value and value in text
    assert "tracktion:tracktion@" not in text and "guest" not in text
