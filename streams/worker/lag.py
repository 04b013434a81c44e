"""Consumer lag (queue depth) per topic-partition: a gauge per lane and the Redis lag table."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from infra.logging import get_logger
from projections.redis.side_writes import LagRow

log = get_logger("lag")


async def group_lag(admin: AIOKafkaAdminClient, consumer_end_offsets: Any, group: str,
                    topics: list[str]) -> list[LagRow]:
    """(topic, partition, end_offset, committed position) for every partition of `topics`."""
    committed = await admin.list_consumer_group_offsets(group)
    described = await admin.describe_topics(topics)
    tps = [TopicPartition(d["topic"], p["partition"]) for d in described
           for p in d.get("partitions", [])]
    ends = await consumer_end_offsets(tps)
    rows: list[LagRow] = []
    for tp in tps:
        meta = committed.get(tp)
        position = meta.offset if meta is not None and meta.offset >= 0 else 0
        rows.append((tp.topic, tp.partition, int(ends[tp]), position))
    return rows


class LagMonitor:
    """Samples a consumer group's lag every `interval_s` and hands rows to `sink`."""

    def __init__(self, bootstrap: str, group: str, topics: list[str], sink: Any,
                 interval_s: float = 5.0) -> None:
        self._bootstrap, self._group, self._topics = bootstrap, group, topics
        self._sink, self._interval = sink, interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"lag-{self._group}")

    @property
    def running(self) -> bool:
        """Sampling (or waiting to retry): its task has not ended."""
        return self._task is not None and not self._task.done()

    async def _loop(self) -> None:
        """Sample until cancelled. If the clients cannot start (Kafka down or restarting
        when the role starts), retry every interval: before, the task ended there and queue
        depth stopped being measured for the rest of the process's life."""
        while True:
            try:
                await self._sample()
            except Exception as exc:  # lag is observability only; never crash the worker
                log.warning("lag_monitor_retrying", group=self._group, error=str(exc))
                await asyncio.sleep(self._interval)

    async def _sample(self) -> None:
        from aiokafka import AIOKafkaConsumer

        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap)
        consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap)
        try:
            await admin.start()
            await consumer.start()
            while True:
                try:
                    rows = await group_lag(admin, consumer.end_offsets, self._group,
                                           self._topics)
                    await self._sink(self._group, rows)
                except Exception as exc:
                    log.warning("lag_sample_failed", group=self._group, error=str(exc))
                await asyncio.sleep(self._interval)
        finally:
            await consumer.stop()
            await admin.close()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
