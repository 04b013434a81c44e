"""What every page handler reads from: the read models of one namespace, opened once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from infra.settings import Settings
from projections.reads import ProgressReads, Reads, TraceReads


@dataclass(frozen=True)
class PageContext:
    settings: Settings
    reads: Reads  # PostgreSQL and Neo4j, shared with the JSON API for the app's lifetime
    progress: ProgressReads  # Redis, the pages' own
    traces: TraceReads  # Jaeger
    # Set at shutdown: open event streams end, or the server would wait for them.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
