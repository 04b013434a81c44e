"""A rebalance while the store is down: the runner's assignment callback gives up loading
checkpoints after its deadline with a clear error (it used to retry forever inside the
callback), keeps the partitions paused, and seeks and catches up once the store is back.

This stops the project's own Redis (`tracktion stack down redis`) and always starts it
again, so it must not run beside another suite that needs Redis.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer

from infra.settings import Settings
from projections.runner import ProjectionRunner
from schemas.namespace import Namespace
from tests.integration.kafka_utils import produce_events, stack_service, wait_until
from tests.integration.projections.redis_support import batch_events, dump
from tests.integration.projections.runner_support import (
    projection_runner,
    resume_then_build_reference,
)

SERVICES = ("kafka", "redis")
DEADLINE_S = 2.0


def runner(settings: Settings, prefix: str, ns: str) -> ProjectionRunner[Any]:
    return projection_runner("redis", settings, prefix, ns,
                             checkpoint_load_timeout_s=DEADLINE_S)


async def test_a_rebalance_during_a_store_outage_errors_clearly_then_catches_up(
        settings: Settings, prefix: str) -> None:
    events = batch_events("ckpt", 300)
    first, rest = events[:len(events) // 2], events[len(events) // 2:]
    await produce_events(settings.kafka_bootstrap_servers, prefix, first)
    live = runner(settings, prefix, prefix)
    task = asyncio.create_task(live.run())
    joiner = AIOKafkaConsumer(*Namespace(prefix).source_topics, bootstrap_servers=settings.
                              kafka_bootstrap_servers, group_id=f"{prefix}.projection.redis",
                              enable_auto_commit=False)
    try:
        assert await wait_until(lambda: live.applied >= len(first), 60, 0.2)
        stack_service("down", "redis")
        try:
            await produce_events(settings.kafka_bootstrap_servers, prefix, rest)
            started = time.monotonic()
            await joiner.start()  # a second member: the live runner's partitions move
            assert await wait_until(
                lambda: getattr(live, "checkpoints_error", None) is not None, 30, 0.2)
            reported_s = time.monotonic() - started
            assert "no checkpoints from redis within 2 s" in str(live.checkpoints_error)
            await joiner.stop()  # leaves: everything goes back to the live runner
            joiner = None
        finally:
            stack_service("up", "redis")
        total = len(first) + len(rest)
        assert await wait_until(lambda: live.applied >= total, 120, 0.5), live.applied
        assert live.checkpoints_error is None and not task.done()
    finally:
        if joiner is not None:
            await joiner.stop()
        await live.stop()
        await task
    print(f"checkpoint outage: error reported {reported_s:.1f} s after the rebalance began")
    # `applied` counts a batch again when a write whose commit raced the outage is retried,
    # so it can reach the total with a batch still unwritten: resume from the store's
    # checkpoints (as a restarted worker would) until caught up before comparing.
    await resume_then_build_reference(lambda ns: runner(settings, prefix, ns), prefix)
    client = aioredis.from_url(settings.redis_url, decode_responses=True)
    try:
        assert await dump(client, f"{prefix}:") == await dump(client, f"{prefix}ref:")
    finally:
        await client.aclose()

