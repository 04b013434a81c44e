"""What every page handler reads from: the read models of one namespace, opened once."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.settings import Settings
from projections.postgres.schema import Tables


@dataclass(frozen=True)
class PageContext:
    settings: Settings
    engine: AsyncEngine  # pooled for the server's lifetime, like the JSON API's
    tables: Tables  # the PostgreSQL schema of this namespace
    graph_ns: str  # the Neo4j namespace
    redis: Redis
    redis_prefix: str  # e.g. "tracktion:"
