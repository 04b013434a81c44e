"""The tags role: the tags projection (analysis results into the files' own tags), opt-in.

It rewrites the user's files, so it runs only when asked: `worker --role tags`, or
TAGS_WRITE=1 with `--role all`. Its own consumer group and checkpoints, like the other
projections; it reads only the analysis topic.
"""

from __future__ import annotations

from typing import Any

from infra.settings import Settings
from projections.runner import ProjectionRunner
from projections.tags.writer import tags_spec
from schemas.namespace import Namespace
from streams.worker.web import RouteAdder

# Small batches: each one's file writes must finish within PROJECTION_WRITE_TIMEOUT, and
# large FLACs take a while to copy and fsync.
BATCH_SIZE = 64


class TagsRole:
    name = "tags"
    dependencies: tuple[str, ...] = ("kafka", "redis")

    def __init__(self, settings: Settings, ns: Namespace) -> None:
        self._settings, self._ns = settings, ns
        self.runner: ProjectionRunner[Any] | None = None

    async def start(self) -> None:
        from infra.kafka_admin import ensure_catalogue

        s = self._settings
        await ensure_catalogue(s, self._ns)
        spec = tags_spec(s.redis_url, self._ns.redis_prefix, s.tags_key_notation)
        self.runner = ProjectionRunner(spec, s, [self._ns.analysis_topic],
                                       group_id=self._ns.projection_group("tags"),
                                       batch_size=BATCH_SIZE)
        await self.runner.start()

    async def run(self) -> None:
        assert self.runner is not None
        await self.runner.run()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.stop()

    def routes(self) -> list[RouteAdder]:
        return []
