"""Alembic environment of the read model: async engine, version table in the target schema.

The schema comes from (first wins) the caller's Config.attributes["schema"], `-x schema=NAME`,
the TRACKTION_DB_SCHEMA environment variable, or "tracktion". Revisions receive it as the
`schema` argument of upgrade()/downgrade().
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from projections.postgres.migrate import MIGRATION_LOCK_KEY
from projections.postgres.schema import (
    DEFAULT_SCHEMA,
    SCHEMA_ENV,
    build_tables,
    check_schema_name,
)

config = context.config


def target_schema() -> str:
    x_args = context.get_x_argument(as_dictionary=True)
    schema = (config.attributes.get("schema") or x_args.get("schema")
              or os.environ.get(SCHEMA_ENV) or DEFAULT_SCHEMA)
    return check_schema_name(str(schema))


def do_run_migrations(connection: Connection) -> None:
    schema = target_schema()
    # Serialise concurrent upgrades; the lock is released when the transaction ends.
    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
    exists = connection.execute(
        text("SELECT 1 FROM pg_namespace WHERE nspname = :schema"), {"schema": schema}).first()
    if exists is None:  # checked first: CREATE SCHEMA needs CREATE on the database, even
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')  # with IF NOT EXISTS
    context.configure(connection=connection, target_metadata=build_tables(schema).metadata,
                      version_table_schema=schema, include_schemas=True)
    with context.begin_transaction():
        context.run_migrations(schema=schema)


def _database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from infra.settings import get_settings

    return get_settings().database_url


async def run_async_migrations() -> None:
    engine = create_async_engine(_database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # called from a writer's setup(), inside its transaction
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported for the read model")
run_migrations_online()
