"""The lag monitor (queue depth) outlives a Kafka that is not there when it starts, and
measures once Kafka answers. The real Kafka of the stack; a port nothing listens on stands
for Kafka being down."""

from __future__ import annotations

import asyncio

from infra.settings import Settings
from projections.redis.side_writes import LagRow
from schemas.namespace import Namespace
from streams.worker.lag import LagMonitor
from tests.e2e.support import free_port
from tests.integration.kafka_utils import wait_until


async def test_lag_monitor_keeps_retrying_while_kafka_is_unreachable() -> None:
    seen: list[list[LagRow]] = []

    async def sink(group: str, rows: list[LagRow]) -> None:
        seen.append(rows)

    monitor = LagMonitor(f"127.0.0.1:{free_port()}", "g", ["t"], sink, interval_s=0.1)
    monitor.start()
    try:
        await asyncio.sleep(1.5)  # several failed starts
        # Before: the first failed start ended the task, and lag was never measured again.
        assert monitor.running
        assert seen == []
    finally:
        await monitor.stop()


async def test_lag_monitor_measures_the_lanes(settings: Settings, prefix: str) -> None:
    seen: list[list[LagRow]] = []

    async def sink(group: str, rows: list[LagRow]) -> None:
        seen.append(rows)

    ns = Namespace(prefix)
    monitor = LagMonitor(settings.kafka_bootstrap_servers, ns.analysis_group,
                         list(ns.lane_topics), sink, interval_s=0.2)
    monitor.start()
    try:
        assert await wait_until(lambda: bool(seen), 60, 0.1), "no lag sample within 60 s"
    finally:
        await monitor.stop()
    assert {topic for topic, *_ in seen[0]} == set(ns.lane_topics)
