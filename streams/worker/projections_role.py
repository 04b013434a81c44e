"""The projections role: three runners (PostgreSQL, Neo4j, Redis), each its own consumer group.

They share nothing but the process: a store that is down opens only its own breaker and
pauses only its own partitions, so the other two keep projecting.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from infra.settings import Settings
from projections.runner import ProjectionRunner
from schemas.envelope import PRIORITIES
from schemas.topics import analysis_topic, lane_topic
from streams.worker.api import add_routes
from streams.worker.pages import add_pages
from streams.worker.web import RouteAdder

STORES = ("postgres", "neo4j", "redis")


def source_topics(prefix: str) -> list[str]:
    return [*(lane_topic(p, prefix) for p in PRIORITIES), analysis_topic(prefix)]


def namespace(prefix: str, default: str) -> str:
    """Read-model namespace for a topic prefix: the default for the live system, the prefix
    itself otherwise (tests, benchmarks and replays get their own schema/graph/keys)."""
    return default if prefix == "tracktion" else prefix


def build_spec(store: str, settings: Settings, prefix: str) -> Any:
    if store == "postgres":
        from projections.postgres.writer import postgres_spec

        return postgres_spec(settings, namespace(prefix, "tracktion"))
    if store == "neo4j":
        from projections.neo4j.writer import neo4j_spec

        return neo4j_spec(settings, namespace(prefix, "live"))
    from projections.redis.writer import progress_spec

    return progress_spec(settings.redis_url, f"{prefix}:")


class ProjectionsRole:
    name = "projections"
    dependencies: tuple[str, ...] = ("kafka", "postgres", "neo4j", "redis")

    def __init__(self, settings: Settings, prefix: str = "tracktion",
                 stores: tuple[str, ...] = STORES) -> None:
        self._settings, self._prefix, self._stores = settings, prefix, stores
        self.runners: list[ProjectionRunner[Any]] = []

    async def start(self) -> None:
        from infra.kafka_admin import ensure_catalogue

        s = self._settings
        await ensure_catalogue(s, self._prefix)
        topics = source_topics(self._prefix)
        for store in self._stores:
            spec = build_spec(store, s, self._prefix)
            self.runners.append(ProjectionRunner(
                spec, s, topics, group_id=f"{self._prefix}.projection.{store}",
                batch_size=s.analysis_batch_size * 16))
        for runner in self.runners:
            await runner.start()

    async def run(self) -> None:
        await asyncio.gather(*(r.run() for r in self.runners))

    async def stop(self) -> None:
        # Each runner finishes the batch it is writing, commits, and leaves its group.
        await asyncio.gather(*(r.stop() for r in self.runners), return_exceptions=True)

    def pool_stats(self) -> dict[str, Any] | None:
        for runner in self.runners:
            writer = runner.spec.writer
            if hasattr(writer, "pool_stats"):
                return writer.pool_stats()  # type: ignore[no-any-return]
        return None

    def routes(self) -> list[RouteAdder]:
        def add(app: web.Application) -> None:
            async def breakers(_: web.Request) -> web.Response:
                return web.json_response({r.name: {"breaker": r.state, "applied": r.applied}
                                          for r in self.runners})

            app.router.add_get("/projections", breakers)
            add_routes(app, namespace(self._prefix, "tracktion"), namespace(self._prefix, "live"),
                       self._settings)
            add_pages(app, namespace(self._prefix, "tracktion"), namespace(self._prefix, "live"),
                      f"{self._prefix}:", self._settings)

        return [add]
