"""What every page handler reads from: the read models of one namespace, opened once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

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
    # Set at shutdown: open event streams end, or the server would wait for them.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
