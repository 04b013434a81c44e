"""Projection runners over a test namespace's topics, and the catch-up the outage tests share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from infra.settings import Settings
from projections.runner import ProjectionRunner
from schemas.namespace import Namespace
from streams.worker.projections_role import build_spec


def projection_runner(store: str, settings: Settings, prefix: str, ns: str,
                      **options: Any) -> ProjectionRunner[Any]:
    """The `store` projection reading `prefix`'s topics into namespace `ns` (itself, or a
    reference twin): a Namespace, so a graph ns or schema cannot stand in for it."""
    into = Namespace(ns)
    return ProjectionRunner(build_spec(store, settings, into), settings,
                            list(Namespace(prefix).source_topics),
                            group_id=into.projection_group(store), batch_size=200, **options)


async def resume_then_build_reference(make: Callable[[str], ProjectionRunner[Any]],
                                      prefix: str, timeout_s: float = 180) -> None:
    """After an outage: resume `prefix` from the store's checkpoints (as a restarted worker
    would) until caught up, then project the same topics into the twin `<prefix>ref` with no
    outage, for the caller to compare the two."""
    for ns in (prefix, f"{prefix}ref"):
        run = make(ns)
        try:
            await run.run_until_caught_up(timeout_s=timeout_s)
        finally:
            await run.stop()
