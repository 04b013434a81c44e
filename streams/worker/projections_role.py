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
from schemas.namespace import Namespace
from streams.worker.api import add_routes
from streams.worker.pages import add_pages
from streams.worker.web import RouteAdder

STORES = ("postgres", "neo4j", "redis")


def build_spec(store: str, settings: Settings, ns: Namespace) -> Any:
    """The store's projection in namespace `ns`: its schema, graph ns or key prefix."""
    if store == "postgres":
        from projections.postgres.writer import postgres_spec

        return postgres_spec(settings, ns.pg_schema)
    if store == "neo4j":
        from projections.neo4j.writer import neo4j_spec

        return neo4j_spec(settings, ns.neo4j_ns)
    from projections.redis.writer import progress_spec

    return progress_spec(settings.redis_url, ns.redis_prefix)


class ProjectionsRole:
    name = "projections"
    dependencies: tuple[str, ...] = ("kafka", "postgres", "neo4j", "redis")

    def __init__(self, settings: Settings, ns: Namespace,
                 stores: tuple[str, ...] = STORES) -> None:
        self._settings, self._ns, self._stores = settings, ns, stores
        self.runners: list[ProjectionRunner[Any]] = []

    async def start(self) -> None:
        from infra.kafka_admin import ensure_catalogue

        s = self._settings
        await ensure_catalogue(s, self._ns)
        topics = list(self._ns.source_topics)
        for store in self._stores:
            spec = build_spec(store, s, self._ns)
            self.runners.append(ProjectionRunner(
                spec, s, topics, group_id=self._ns.projection_group(store),
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
            ns = self._ns
            add_routes(app, ns.pg_schema, ns.neo4j_ns, self._settings)
            add_pages(app, ns.pg_schema, ns.neo4j_ns, ns.redis_prefix, self._settings)

        return [add]
