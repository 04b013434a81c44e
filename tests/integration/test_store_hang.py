"""A store that accepts the connection but never answers must not hang a projection.

The project's own Neo4j is frozen with SIGSTOP: the kernel still holds its sockets, so the
driver's request goes out and no answer ever comes, as with a store stuck in start-up, a
long GC pause or a lock. Before batch writes were bounded (`PROJECTION_WRITE_TIMEOUT`), the
runner waited on that write for as long as the freeze lasted: no failure for the breaker,
and `stop()` (graceful shutdown) hung with it. SIGCONT always follows, in `finally`.
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

from infra.settings import Settings
from infra.stack.base import read_pid
from projections.runner import ProjectionRunner
from schemas.namespace import Namespace
from streams.worker.projections_role import build_spec
from tests.integration.kafka_utils import produce_events, wait_until
from tests.integration.projections.redis_support import batch_events
from tests.integration.test_neo4j_outage import graph

SERVICES = ("kafka", "neo4j")


def runner(settings: Settings, prefix: str, ns: str) -> ProjectionRunner[Any]:
    bounded = settings.model_copy(update={"projection_write_timeout": 2.0})
    into = Namespace(ns)
    return ProjectionRunner(build_spec("neo4j", bounded, into), bounded,
                            list(Namespace(prefix).source_topics),
                            group_id=into.projection_group("neo4j"), batch_size=50)


def neo4j_pid(settings: Settings) -> int:
    pid = read_pid(settings.stack_dir / "neo4j" / "neo4j.pid")
    assert pid is not None, "no Neo4j PID recorded: start the stack with `tracktion stack up`"
    return pid


async def test_a_store_that_never_answers_fails_the_write_and_stop_returns(
        settings: Settings, prefix: str) -> None:
    events = batch_events("hang", 200)
    await produce_events(settings.kafka_bootstrap_servers, prefix, events[:100])
    live = runner(settings, prefix, prefix)
    task = asyncio.create_task(live.run())
    pid = neo4j_pid(settings)
    frozen = False
    try:
        assert await wait_until(lambda: live.applied > 0, 60), "no first batch"
        failures_before = live.write_failures
        os.kill(pid, signal.SIGSTOP)
        frozen = True
        await produce_events(settings.kafka_bootstrap_servers, prefix, events[100:])
        applied = live.applied
        assert await wait_until(lambda: live.write_failures > failures_before, 30), \
            "timed out waiting for the unanswered write to count as a failure"
        assert live.applied == applied, "a batch was applied while Neo4j was frozen"
        await asyncio.wait_for(live.stop(), 15)  # old code: hung until Neo4j woke up
        await asyncio.wait_for(task, 15)
    finally:
        if frozen:
            os.kill(pid, signal.SIGCONT)
        if not task.done():
            task.cancel()
    # The abandoned batch was left uncommitted: a restart ends in exactly the state of a
    # projection that never saw the freeze.
    for ns in (prefix, f"{prefix}ref"):
        again = runner(settings, prefix, ns)
        try:
            await again.run_until_caught_up(timeout_s=120)
        finally:
            await again.stop()
    assert await graph(settings, prefix) == await graph(settings, f"{prefix}ref")
