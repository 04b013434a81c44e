"""What every page handler reads from: the read models of one namespace, opened once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from redis.asyncio import Redis

from infra.settings import Settings
from projections.reads import Reads


@dataclass(frozen=True)
class PageContext:
    settings: Settings
    reads: Reads  # PostgreSQL and Neo4j, shared with the JSON API for the app's lifetime
    redis: Redis
    redis_prefix: str  # e.g. "tracktion:"
    # Set at shutdown: open event streams end, or the server would wait for them.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
