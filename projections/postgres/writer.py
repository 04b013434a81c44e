"""Writer of the Postgres read model: batched upserts and checkpoints in one transaction,
through a pooled SQLAlchemy async engine (asyncpg).
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from infra.settings import Settings
from projections.base import Checkpoints, ProjectionSpec
from projections.postgres.apply import PostgresIntents, PostgresProjector
from projections.postgres.migrate import upgrade_on
from projections.postgres.schema import DEFAULT_SCHEMA, build_tables
from projections.postgres.statements import Statements

log = structlog.get_logger("projections.postgres")
# A cycle of moves converges in a few rounds; far more means a bug, not a long chain.
MAX_PROPAGATION_ROUNDS = 64


def make_engine(settings: Settings, url: str | None = None) -> AsyncEngine:
    """An async engine sized by the DATABASE_POOL_* settings."""
    return create_async_engine(
        url or settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_pool_timeout,
        pool_recycle=settings.database_pool_recycle,
        pool_pre_ping=settings.database_pool_pre_ping,
    )


class PostgresWriter:
    """Writer[PostgresIntents] for one schema (default "tracktion")."""

    def __init__(self, settings: Settings, schema: str = DEFAULT_SCHEMA, *,
                 url: str | None = None, engine: AsyncEngine | None = None) -> None:
        self.tables = build_tables(schema)
        self.schema = schema
        self.engine = engine or make_engine(settings, url)
        self._sql = Statements.for_tables(self.tables)

    async def setup(self) -> None:
        """Run the migrations (idempotent; serialised by an advisory lock)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(upgrade_on, self.schema)

    async def load_checkpoints(self, projection: str) -> Checkpoints:
        t = self.tables.checkpoints
        query = select(t.c.topic, t.c.partition, t.c.offset).where(t.c.projection == projection)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return {(topic, partition): offset for topic, partition, offset in rows}

    async def write(self, projection: str, intents: PostgresIntents,
                    checkpoints: Checkpoints) -> None:
        """Rows and checkpoints commit together, or neither does."""
        async with self.engine.begin() as conn:
            await self._write_rows(conn, intents)
            if checkpoints:
                await conn.execute(self._sql.checkpoints, [
                    {"projection": projection, "topic": topic, "partition": partition,
                     "offset": offset}
                    for (topic, partition), offset in sorted(checkpoints.items())])

    async def _write_rows(self, conn: AsyncConnection, intents: PostgresIntents) -> None:
        sql = self._sql
        for statement, rows in ((sql.tracks, intents.tracks), (sql.analyses, intents.analyses),
                                (sql.failures, intents.failures), (sql.moves, intents.moves)):
            if rows:
                await conn.execute(statement, rows)  # executemany: one prepared statement
        touched = {r["file_id"] for r in intents.tracks}
        if touched:
            await self._propagate_moves(conn, sorted(touched))

    async def _propagate_moves(self, conn: AsyncConnection, ids: list[str]) -> None:
        for _ in range(MAX_PROPAGATION_ROUNDS):
            updated = (await conn.execute(self._sql.propagate, {"ids": ids})).scalars().all()
            if not updated:
                return
            ids = sorted(set(updated))
        log.error("move_propagation_did_not_converge", schema=self.schema, ids=ids[:10])

    async def reset(self, projection: str) -> None:
        """Empty the read model and forget `projection`'s positions, for a replay from 0."""
        t = self.tables
        names = ", ".join(f'"{self.schema}"."{tb.name}"'
                          for tb in (t.tracks, t.analyses, t.failures, t.moves))
        async with self.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {names}"))
            await conn.execute(
                delete(t.checkpoints).where(t.checkpoints.c.projection == projection))

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    def pool_stats(self) -> dict[str, Any]:
        """Pool occupancy for readiness probes and metrics."""
        pool: Any = self.engine.pool
        return {"size": pool.size(), "checked_in": pool.checkedin(),
                "checked_out": pool.checkedout(), "overflow": pool.overflow(),
                "status": pool.status()}

    async def close(self) -> None:
        await self.engine.dispose()


def postgres_spec(settings: Settings, schema: str = DEFAULT_SCHEMA, name: str = "postgres",
                  *, url: str | None = None) -> ProjectionSpec[PostgresIntents]:
    """Wire the Postgres projection: pure projector + writer, breaker named "postgres"."""
    return ProjectionSpec(projector=PostgresProjector(name),
                          writer=PostgresWriter(settings, schema, url=url),
                          dependency="postgres")
