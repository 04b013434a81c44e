"""Rebuild a projection from the retained topics: reset its read model, then catch up.

The projection being rebuilt must not be running elsewhere (its consumer group must be
empty): two writers resetting and writing one store would interleave. Bridge, analysis and
the other projections keep running; events simply wait in Kafka, and the restarted
projection worker resumes from the checkpoints the replay stored.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from infra.kafka_groups import describe_group
from infra.settings import Settings
from projections.runner import ProjectionRunner
from schemas.namespace import Namespace
from streams.worker.projections_role import build_spec


class ReplayRefusedError(RuntimeError):
    """The projection is live in another process; stop it first."""


@dataclass(frozen=True)
class ReplayResult:
    store: str
    events: int
    seconds: float

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


async def group_members(bootstrap: str, group: str) -> int:
    # aiokafka's default request timeout, as before describe_group existed.
    return len((await describe_group(bootstrap, group, timeout_ms=40_000)).members)


async def replay_store(settings: Settings, ns: Namespace, store: str,
                       stop_before: int | None = None,
                       on_progress: Callable[[str, int], None] | None = None) -> ReplayResult:
    group = ns.projection_group(store)
    members = await group_members(settings.kafka_bootstrap_servers, group)
    if members:
        raise ReplayRefusedError(
            f"{store}: consumer group {group} has {members} live member(s); stop the "
            "projections worker (SIGTERM) first, replay, then start it again")
    if store == "tags":  # re-applies every latest analysis; rewrites only tags that differ
        from projections.tags.writer import tags_spec
        from streams.worker.tags_role import BATCH_SIZE

        spec: Any = tags_spec(settings.redis_url, ns.redis_prefix, settings.tags_key_notation)
        topics, batch_size = [ns.analysis_topic], BATCH_SIZE
    else:
        spec = build_spec(store, settings, ns)
        topics, batch_size = list(ns.source_topics), 2000
    await spec.writer.setup()
    await spec.writer.reset(spec.projector.name)
    runner: ProjectionRunner[Any] = ProjectionRunner(
        spec, settings, topics, group_id=group, batch_size=batch_size)
    runner.stop_before = stop_before
    started = time.monotonic()
    reporter = asyncio.create_task(_report(runner, store, on_progress))
    try:
        applied = await runner.run_until_caught_up()
    finally:
        reporter.cancel()
        await runner.stop()
        await spec.writer.close()
    return ReplayResult(store, applied, round(time.monotonic() - started, 2))


async def _report(runner: ProjectionRunner[Any], store: str,
                  on_progress: Callable[[str, int], None] | None) -> None:
    while on_progress is not None:
        on_progress(store, runner.applied)
        await asyncio.sleep(0.3)
