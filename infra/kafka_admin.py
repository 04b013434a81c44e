"""Create and describe the topic catalogue on the Kafka cluster, idempotently."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaClient
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactString,
    Int16,
    Int32,
    Int64,
    Schema,
    TaggedFields,
)

from infra.settings import ConfigurationError, Settings
from schemas.namespace import LIVE, Namespace
from schemas.topics import TopicSpec, catalogue


class TopicSetupError(ConfigurationError):
    """The topics cannot be created as configured (e.g. more replicas than brokers)."""


@dataclass(frozen=True)
class PartitionState:
    """Where one partition lives: its leader (-1 while it has none), replicas and ISR."""

    partition: int
    leader: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]


@dataclass(frozen=True)
class TopicState:
    name: str
    partitions: int
    exists: bool
    purpose: str
    retention_ms: str
    # As the cluster reports them (0 / "" for a topic that does not exist).
    replication_factor: int = 0
    min_insync_replicas: str = ""
    partition_states: tuple[PartitionState, ...] = ()

    @property
    def under_replicated(self) -> int:
        """Partitions with fewer replicas in sync than assigned (a broker down or behind)."""
        return sum(len(p.isr) < len(p.replicas) for p in self.partition_states)


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


async def ensure_topics(bootstrap: str, default_partitions: int, ns: Namespace = LIVE,
                        specs: list[TopicSpec] | None = None,
                        replication_factor: int = 1) -> list[str]:
    """Create missing topics of `ns`'s catalogue, or `specs` instead (ad-hoc topics);
    returns the names created (existing are kept)."""
    wanted = specs or catalogue(ns)
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


async def ensure_catalogue(settings: Settings, ns: Namespace,
                           partitions: int | None = None) -> list[str]:
    """`ensure_topics` for `ns` with the configured partition count and replication factor."""
    return await ensure_topics(settings.kafka_bootstrap_servers,
                               partitions or settings.kafka_partitions, ns,
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


async def describe_topics(bootstrap: str, ns: Namespace = LIVE) -> list[TopicState]:
    specs = catalogue(ns)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        names = [s.name for s in specs if s.name in existing]
        described = {d["topic"]: d for d in await admin.describe_topics(names)} if names else {}
        isr_config = await _topic_config(admin, names, "min.insync.replicas")
        result = []
        for spec in specs:
            info = described.get(spec.name)
            parts = partition_states(info) if info else ()
            result.append(TopicState(
                name=spec.name, partitions=len(info["partitions"]) if info else 0,
                exists=info is not None, purpose=spec.purpose,
                retention_ms=spec.config.get("retention.ms", "default"),
                replication_factor=max((len(p.replicas) for p in parts), default=0),
                min_insync_replicas=isr_config.get(spec.name, ""),
                partition_states=parts))
        return result
    finally:
        await admin.close()


def partition_states(info: dict[str, Any]) -> tuple[PartitionState, ...]:
    """One topic of a Metadata response (`describe_topics`) as PartitionStates, by partition."""
    return tuple(sorted(
        (PartitionState(p["partition"], p["leader"], tuple(p["replicas"]), tuple(p["isr"]))
         for p in info["partitions"]), key=lambda p: p.partition))


async def _topic_config(admin: AIOKafkaAdminClient, names: list[str], key: str) -> dict[str, str]:
    """The effective value of topic config `key` per topic (its own, else the broker's)."""
    if not names:
        return {}
    responses = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, name, {key: None}) for name in names])
    found: dict[str, str] = {}
    for response in responses:
        for resource in response.to_object()["resources"]:
            for entry in resource["config_entries"]:
                if entry["config_names"] == key and entry["config_value"] is not None:
                    found[resource["resource_name"]] = entry["config_value"]
    return found


# DescribeQuorum (API key 55) is not in aiokafka, so its version 0 is spelled out here from
# Kafka's DescribeQuorumRequest/Response.json. Brokers forward it to the active controller,
# so it answers through the ordinary bootstrap servers. The Metadata response's
# "controller id" is no help in KRaft mode: brokers report a random live broker there.
_REPLICA_STATE = CompactArray(("replica_id", Int32), ("log_end_offset", Int64),
                              ("tags", TaggedFields))
METADATA_TOPIC = "__cluster_metadata"


class _DescribeQuorumResponse_v0(Response):  # type: ignore[misc]  # aiokafka is untyped
    API_KEY = 55
    API_VERSION = 0
    SCHEMA = Schema(
        ("error_code", Int16),
        ("topics", CompactArray(
            ("topic_name", CompactString("utf-8")),
            ("partitions", CompactArray(
                ("partition_index", Int32), ("error_code", Int16), ("leader_id", Int32),
                ("leader_epoch", Int32), ("high_watermark", Int64),
                ("current_voters", _REPLICA_STATE), ("observers", _REPLICA_STATE),
                ("tags", TaggedFields))),
            ("tags", TaggedFields))),
        ("tags", TaggedFields),
    )


class _DescribeQuorumRequest_v0(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 55
    API_VERSION = 0
    RESPONSE_TYPE = _DescribeQuorumResponse_v0
    SCHEMA = Schema(
        ("topics", CompactArray(
            ("topic_name", CompactString("utf-8")),
            ("partitions", CompactArray(("partition_index", Int32), ("tags", TaggedFields))),
            ("tags", TaggedFields))),
        ("tags", TaggedFields),
    )


class _DescribeQuorumRequest(Request[_DescribeQuorumRequest_v0]):  # type: ignore[misc]
    API_KEY = 55

    def build(self, request_struct_class: type[_DescribeQuorumRequest_v0]
              ) -> _DescribeQuorumRequest_v0:
        return request_struct_class([(METADATA_TOPIC, [(0, {})], {})], {})


@dataclass(frozen=True)
class QuorumState:
    """The KRaft metadata quorum: who leads it, who votes, who only follows (brokers)."""

    leader_id: int  # -1 while an election runs
    leader_epoch: int
    high_watermark: int
    voters: dict[int, int]  # node id -> log end offset (-1 if unknown)
    observers: dict[int, int]
    brokers: tuple[int, ...]  # registered and unfenced, from the same broker's metadata

    @property
    def max_voter_lag(self) -> int:
        """Metadata records the slowest voter is behind the high watermark."""
        return max((self.high_watermark - end for end in self.voters.values()), default=0)


async def describe_quorum(bootstrap: str, timeout_ms: int = 5000) -> QuorumState:
    """The metadata quorum as the cluster reports it (DescribeQuorum through a broker)."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms,
                            client_id="tracktion-quorum")
    await client.bootstrap()
    try:
        brokers = sorted(b.nodeId for b in client.cluster.brokers())
        if not brokers:
            raise LookupError(f"no registered broker at {bootstrap}")
        response = await client.send(brokers[0], _DescribeQuorumRequest())
    finally:
        await client.close()
    answer = response.to_object()
    if answer["error_code"]:
        raise LookupError(f"DescribeQuorum at {bootstrap}: error {answer['error_code']}")
    (partition,) = answer["topics"][0]["partitions"]
    if partition["error_code"]:
        raise LookupError(f"DescribeQuorum at {bootstrap}: error {partition['error_code']}")
    return QuorumState(
        leader_id=partition["leader_id"], leader_epoch=partition["leader_epoch"],
        high_watermark=partition["high_watermark"],
        voters={v["replica_id"]: v["log_end_offset"] for v in partition["current_voters"]},
        observers={o["replica_id"]: o["log_end_offset"] for o in partition["observers"]},
        brokers=tuple(brokers))
