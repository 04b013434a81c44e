"""Neo4j stopped for 30 s mid-run: the breaker opens, the projection pauses, and after Neo4j
returns it catches up to exactly the state of a run without the outage.

This stops the project's own Neo4j (`tracktion stack down neo4j`) and always starts it
again, so it must not run beside another suite that needs Neo4j.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from neo4j import AsyncGraphDatabase

from infra.settings import Settings
from projections.metrics import CIRCUIT_BREAKER_STATE
from projections.neo4j.queries import dump_namespace
from projections.runner import ProjectionRunner
from tests.integration.kafka_utils import produce_events, stack_service
from tests.integration.projections.redis_support import batch_events
from tests.integration.projections.runner_support import (
    projection_runner,
    resume_then_build_reference,
)

PARTITIONS = 6
SERVICES = ("kafka", "neo4j")
OUTAGE_S = 30.0


def stack(action: str) -> None:
    stack_service(action, "neo4j")



def runner(settings: Settings, prefix: str, ns: str) -> ProjectionRunner[Any]:
    return projection_runner("neo4j", settings, prefix, ns)


async def graph(settings: Settings, ns: str) -> dict[str, Any]:
    driver = AsyncGraphDatabase.driver(settings.neo4j_uri,
                                       auth=(settings.neo4j_user, settings.neo4j_password))
    try:
        return await dump_namespace(driver, ns)
    finally:
        await driver.close()


async def test_neo4j_outage_pauses_and_catches_up(settings: Settings, prefix: str) -> None:
    events = batch_events("outage", 1500)
    half = len(events) // 2
    await produce_events(settings.kafka_bootstrap_servers, prefix, events[:half])
    live = runner(settings, prefix, prefix)
    task = asyncio.create_task(live.run())
    try:
        deadline = time.monotonic() + 120
        while live.applied < 100:
            assert time.monotonic() < deadline, f"nothing applied before the outage: {live.state}"
            await asyncio.sleep(0.1)
        seen_before = len(live.breaker.transitions)  # the breaker is shared per process
        stack("down")
        try:
            # events keep arriving meanwhile
            await produce_events(settings.kafka_bootstrap_servers, prefix, events[half:])
            deadline = time.monotonic() + OUTAGE_S
            applied_at_open = None
            while time.monotonic() < deadline:
                if live.state == "open" and applied_at_open is None:
                    applied_at_open = live.applied
                await asyncio.sleep(0.5)
            gauge = CIRCUIT_BREAKER_STATE.labels(dependency="neo4j")._value.get()
            assert live.state in ("open", "half_open") and gauge in (1, 2)
            assert live.applied == applied_at_open, "events applied while Neo4j was down"
        finally:
            stack("up")
        deadline = time.monotonic() + 180
        while live.state != "closed" or live.applied < len(events):
            assert time.monotonic() < deadline, f"no catch-up: {live.state} {live.applied}"
            await asyncio.sleep(0.5)
    finally:
        await asyncio.wait_for(live.stop(), 60)
        await asyncio.wait_for(task, 10)
    transitions = live.breaker.transitions[seen_before:]
    assert transitions[:1] == ["open"] and "half_open" in transitions
    assert transitions[-1] == "closed"
    # `applied` counts a batch again when a write whose commit raced the outage is retried,
    # so it can reach the total with a batch still unwritten: resume from the store's
    # checkpoints (as a restarted worker would) until caught up before comparing.
    await resume_then_build_reference(lambda ns: runner(settings, prefix, ns), prefix)
    assert await graph(settings, prefix) == await graph(settings, f"{prefix}ref")
