"""Create and describe the topic catalogue on the Kafka cluster, idempotently."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from schemas.topics import TopicSpec, catalogue


@dataclass(frozen=True)
class TopicState:
    name: str
    partitions: int
    exists: bool
    purpose: str
    retention_ms: str


async def ensure_topics(bootstrap: str, default_partitions: int, prefix: str | None = None,
                        specs: list[TopicSpec] | None = None) -> list[str]:
    """Create missing topics of the catalogue; returns the names created (existing are kept)."""
    wanted = specs or (catalogue(prefix) if prefix else catalogue())
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [NewTopic(s.name, s.partitions or default_partitions, 1, topic_configs=s.config)
               for s in wanted if s.name not in existing]
        if new:
            try:
                await admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass  # a concurrent creator won the race; the topic exists, which is all we need
            await _wait_visible(admin, {t.name for t in new})
        return [t.name for t in new]
    finally:
        await admin.close()


async def _wait_visible(admin: AIOKafkaAdminClient, names: set[str], timeout_s: float = 15) -> None:
    """Creation returns before every broker's metadata lists the topic; clients that start
    right after would see it missing, so wait until the cluster reports all of them."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        if names <= set(await admin.list_topics()):
            return
        await asyncio.sleep(0.1)


async def describe_topics(bootstrap: str, prefix: str | None = None) -> list[TopicState]:
    specs = catalogue(prefix) if prefix else catalogue()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        names = [s.name for s in specs if s.name in existing]
        described = {d["topic"]: d for d in await admin.describe_topics(names)} if names else {}
        result = []
        for spec in specs:
            info = described.get(spec.name)
            result.append(TopicState(
                name=spec.name, partitions=len(info["partitions"]) if info else 0,
                exists=info is not None, purpose=spec.purpose,
                retention_ms=spec.config.get("retention.ms", "default")))
        return result
    finally:
        await admin.close()
