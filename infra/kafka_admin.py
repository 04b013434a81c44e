"""Create and describe the topic catalogue on the Kafka cluster, idempotently."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from infra.settings import ConfigurationError, Settings
from schemas.topics import TopicSpec, catalogue


class TopicSetupError(ConfigurationError):
    """The topics cannot be created as configured (e.g. more replicas than brokers)."""


@dataclass(frozen=True)
class TopicState:
    name: str
    partitions: int
    exists: bool
    purpose: str
    retention_ms: str


def min_insync_replicas(replication_factor: int) -> int | None:
    """Writes with acks=all need this many replicas in sync: with 3 replicas, 2 (one broker
    may be down without stopping writes, and an acknowledged event is on two disks)."""
    return None if replication_factor < 2 else min(2, replication_factor - 1)


def topic_requests(specs: list[TopicSpec], existing: set[str], default_partitions: int,
                   replication_factor: int = 1) -> list[NewTopic]:
    """The creations needed for `specs`, given the topics that already exist."""
    isr = min_insync_replicas(replication_factor)
    extra = {} if isr is None else {"min.insync.replicas": str(isr)}
    return [NewTopic(s.name, s.partitions or default_partitions, replication_factor,
                     topic_configs={**s.config, **extra})
            for s in specs if s.name not in existing]


async def ensure_topics(bootstrap: str, default_partitions: int, prefix: str | None = None,
                        specs: list[TopicSpec] | None = None,
                        replication_factor: int = 1) -> list[str]:
    """Create missing topics of the catalogue; returns the names created (existing are kept)."""
    wanted = specs or (catalogue(prefix) if prefix else catalogue())
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        new = topic_requests(wanted, set(await admin.list_topics()), default_partitions,
                             replication_factor)
        if new:
            brokers = len((await admin.describe_cluster())["brokers"])
            if replication_factor > brokers:
                raise TopicSetupError(
                    f"KAFKA_REPLICATION_FACTOR={replication_factor} but the cluster at "
                    f"{bootstrap} has {brokers} broker(s): lower the factor or add brokers")
            try:
                await admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass  # a concurrent creator won the race; the topic exists, which is all we need
            await _wait_visible(admin, {t.name for t in new})
        return [t.name for t in new]
    finally:
        await admin.close()


async def ensure_catalogue(settings: Settings, prefix: str,
                           partitions: int | None = None) -> list[str]:
    """`ensure_topics` with the configured partition count and replication factor."""
    return await ensure_topics(settings.kafka_bootstrap_servers,
                               partitions or settings.kafka_partitions, prefix,
                               replication_factor=settings.kafka_replication_factor)


async def _wait_visible(admin: AIOKafkaAdminClient, names: set[str], timeout_s: float = 15) -> None:
    """Creation returns before every broker's metadata lists the topic; clients that start
    right after would see it missing, so wait until the cluster reports all of them."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        if names <= set(await admin.list_topics()):
            return
        await asyncio.sleep(0.1)


async def partition_ids(bootstrap: str, topic: str) -> list[int]:
    """Partition ids of `topic` from the cluster (a consumer only knows topics it subscribed)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (info,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if info.get("error_code"):
        raise LookupError(f"topic {topic}: error {info['error_code']}")
    return sorted(p["partition"] for p in info["partitions"])


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
