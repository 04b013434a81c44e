"""Consumer groups as the cluster reports them: state, members and who holds which partition."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment


@dataclass(frozen=True)
class GroupMember:
    client_id: str
    host: str
    # (topic, partition) pairs; empty while a rebalance is in progress.
    partitions: frozenset[tuple[str, int]]


@dataclass(frozen=True)
class GroupState:
    group: str
    state: str  # Stable, PreparingRebalance, CompletingRebalance, Empty, Dead
    members: tuple[GroupMember, ...]

    @property
    def stable(self) -> bool:
        return self.state == "Stable"

    def holder_of(self, topic: str, partition: int) -> str | None:
        """The client id assigned the partition, None if nobody holds it now."""
        return next((m.client_id for m in self.members
                     if (topic, partition) in m.partitions), None)


def _assignment(raw: bytes) -> frozenset[tuple[str, int]]:
    # Every assignor we run (aiokafka's and Faust's) writes the standard consumer-protocol
    # assignment; Faust keeps its own extras in user_data, which is ignored here.
    if not raw:
        return frozenset()
    decoded = ConsumerProtocolMemberAssignment.decode(raw)
    return frozenset((tp.topic, tp.partition) for tp in decoded.partitions())


async def describe_group(bootstrap: str, group: str, timeout_ms: int = 5000) -> GroupState:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms)
    await admin.start()
    try:
        responses = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    for response in responses:
        for described in response.to_object()["groups"]:
            if described["group"] == group:
                return GroupState(group, described["state"], tuple(
                    GroupMember(m["client_id"], m["client_host"],
                                _assignment(m["member_assignment"]))
                    for m in described["members"]))
    return GroupState(group, "Dead", ())
