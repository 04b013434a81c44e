"""The Kafka consumer surface a ProjectionRunner uses, and the factory of the real one.

The runner's delicate logic (the generation/settled guard, revocation during a write, pause
and retry) only needs these calls, so tests hand it an in-memory consumer instead of Kafka.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition

from infra.settings import Settings


class RebalanceListener(Protocol):
    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None: ...

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None: ...


class Consumer(Protocol):
    """What the runner and `projections.positions` call on an AIOKafkaConsumer."""

    def subscribe(self, topics: list[str], listener: Any) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def getmany(self, *partitions: TopicPartition, timeout_ms: int = 0,
                      max_records: int | None = None,
                      ) -> Mapping[TopicPartition, Sequence[Any]]: ...

    def assignment(self) -> set[TopicPartition]: ...

    def seek(self, partition: TopicPartition, offset: int) -> None: ...

    def pause(self, *partitions: TopicPartition) -> None: ...

    def resume(self, *partitions: TopicPartition) -> None: ...

    def paused(self) -> set[TopicPartition]: ...

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None: ...

    # For `projections.positions`: where the log ends and where this consumer stands.
    async def topics(self) -> set[str]: ...

    def partitions_for_topic(self, topic: str) -> set[int] | None: ...

    async def end_offsets(self, partitions: list[TopicPartition],
                          ) -> dict[TopicPartition, int]: ...

    async def position(self, partition: TopicPartition) -> int: ...

    def highwater(self, partition: TopicPartition) -> int | None: ...


#: builds the (not yet started) consumer of one group: (settings, group_id) -> consumer
ConsumerFactory = Callable[[Settings, str], Consumer]


def kafka_consumer(settings: Settings, group_id: str) -> Consumer:
    """The real consumer: manual commits, earliest reset, 4 MB per partition fetch."""
    consumer: Consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, group_id=group_id,
        client_id=f"{group_id}-{settings.host_name}", enable_auto_commit=False,
        auto_offset_reset="earliest", max_partition_fetch_bytes=4 * 1024 * 1024)
    return consumer
