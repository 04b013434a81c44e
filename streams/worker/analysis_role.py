"""The analysis role: Faust agents over the priority lanes, a process pool, a result cache."""

from __future__ import annotations

import os
import time
from typing import Any

import redis.asyncio as aioredis

from infra.kafka_admin import ensure_catalogue
from infra.logging import get_logger
from infra.metrics import ANALYSIS_QUEUE_DEPTH, ANALYSIS_STALLED_PARTITIONS
from infra.settings import Settings
from projections.redis.side_writes import LagRow, record_lag
from schemas.namespace import Namespace
from streams.agents.analysis import register_agents
from streams.agents.cache import ResultCache
from streams.agents.handler import AnalysisHandler
from streams.app import create_app
from streams.pool.pool import AnalysisPool
from streams.worker.lag import LagMonitor
from streams.worker.stall import StallDetector
from streams.worker.web import RouteAdder

log = get_logger("analysis")


class AnalysisRole:
    name = "analysis"
    dependencies: tuple[str, ...] = ("kafka", "redis")

    def __init__(self, settings: Settings, ns: Namespace) -> None:
        self._settings = settings
        self._ns = ns
        self.pool = AnalysisPool(settings.analysis_max_workers, settings.analysis_timeout,
                                 settings.max_memory_mb)
        self._app: Any = None
        self._redis: Any = None
        self._lag: LagMonitor | None = None
        self._stalls = StallDetector(settings.stall_timeout)

    async def start(self) -> None:
        s = self._settings
        ns = self._ns
        await ensure_catalogue(s, ns)
        self.pool.start()
        self._redis = aioredis.from_url(s.redis_url, socket_timeout=1, socket_connect_timeout=1,
                                        retry_on_timeout=False)
        cache = ResultCache(s.cache_size_mb, self._redis, ns.redis_prefix)
        self._app = create_app(s, ns.analysis_group)  # the app id is the consumer group

        async def emit(topic: str, key: bytes | None, value: bytes,
                       headers: list[tuple[str, bytes]]) -> Any:
            return await self._app.producer.send(topic, key, value, partition=None,
                                                 timestamp=None, headers=headers)

        handler = AnalysisHandler(self.pool, cache, emit, ns,
                                  s.analyzer_version, worker_name=f"{s.host_name}:{os.getpid()}")
        # Enough concurrent agent actors to keep every pool worker fed, plus a few queued so
        # a freed worker never waits for a fetch.
        register_agents(self._app, handler, ns, s.analysis_max_workers * 2)
        self._app.finalize()
        await self._app.start()
        self._lag = LagMonitor(s.kafka_bootstrap_servers, ns.analysis_group,
                               list(ns.lane_topics), self._record_lag)
        self._lag.start()
        # Which version this process stamps: what an operator checks during an upgrade.
        log.info("analysis_role_started", analyzer_version=s.analyzer_version,
                 pool_workers=s.analysis_max_workers)

    async def _record_lag(self, group: str, rows: list[LagRow]) -> None:
        """Queue depth per lane for Prometheus, and per partition for `tracktion progress`."""
        per_lane: dict[str, int] = {}
        for topic, _, end, position in rows:
            lane = topic.rsplit(".", 1)[-1]
            per_lane[lane] = per_lane.get(lane, 0) + max(0, end - position)
        for lane, depth in per_lane.items():
            ANALYSIS_QUEUE_DEPTH.labels(lane).set(depth)
        self._report_stalls(rows)
        await record_lag(self._redis, self._ns.redis_prefix, group, rows)

    def _report_stalls(self, rows: list[LagRow]) -> None:
        verdict = self._stalls.observe(rows, time.monotonic())
        for stall in verdict.stalled:
            log.error("analysis_stalled", topic=stall.topic, partition=stall.partition,
                      committed=stall.committed, waiting=stall.waiting,
                      seconds=round(stall.seconds), stall_timeout=self._stalls.timeout_s)
        for topic, partition in verdict.recovered:
            log.info("analysis_stall_recovered", topic=topic, partition=partition)
        ANALYSIS_STALLED_PARTITIONS.set(verdict.stalled_now)

    async def run(self) -> None:
        await self._app.wait_until_stopped()

    async def stop(self) -> None:
        if self._lag is not None:
            await self._lag.stop()
        # Faust stops consuming, waits for in-flight agent work (stream_wait_empty), commits.
        if self._app is not None:
            await self._app.stop()
        await self.pool.close()
        if self._redis is not None:
            await self._redis.aclose()

    def routes(self) -> list[RouteAdder]:
        return []
