"""One namespace: every name a topic prefix stands for, in Kafka, RabbitMQ and each store.

Tests, benchmarks and replay targets run beside the live system in the one set of servers,
each under its own prefix. Every topic, queue, consumer group, schema, graph namespace and
key prefix is derived here, so no two places can spell one differently and a prefix
cannot be passed where a schema or graph namespace is meant (they are different types).
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.envelope import PRIORITIES, Priority

LIVE_PREFIX = "tracktion"
# The live read models predate namespaces and keep their original names, so stored data
# stays where it is: schema "tracktion", graph nodes tagged ns "live".
LIVE_SCHEMA = "tracktion"
LIVE_GRAPH_NS = "live"


@dataclass(frozen=True)
class Namespace:
    """The names of one prefix; `Namespace()` is the live system's."""

    prefix: str = LIVE_PREFIX

    def __post_init__(self) -> None:
        # Not statically checked callers (tests, benchmarks) get the slip at once, too.
        if not isinstance(self.prefix, str):
            raise TypeError(f"Namespace prefix must be a str, not {type(self.prefix).__name__}")

    @property
    def is_live(self) -> bool:
        return self.prefix == LIVE_PREFIX

    # Kafka topics (the catalogue in schemas/topics.py adds partitions and retention).
    def lane_topic(self, priority: Priority) -> str:
        return f"{self.prefix}.files.{priority}"

    @property
    def lane_topics(self) -> tuple[str, ...]:
        """The three priority lanes, high first."""
        return tuple(self.lane_topic(p) for p in PRIORITIES)

    @property
    def analysis_topic(self) -> str:
        return f"{self.prefix}.analysis"

    @property
    def deadletter_topic(self) -> str:
        return f"{self.prefix}.deadletter"

    @property
    def source_topics(self) -> tuple[str, ...]:
        """What the projections read: the three lanes and the analysis topic."""
        return (*self.lane_topics, self.analysis_topic)

    # RabbitMQ
    @property
    def amqp_exchange(self) -> str:
        return f"{self.prefix}.events"

    @property
    def amqp_queue(self) -> str:
        return f"{self.prefix}.bridge"

    # Consumer groups and client ids
    @property
    def analysis_group(self) -> str:
        """The analysis consumer group, which is also the Faust app id."""
        return f"{self.prefix}-analysis"

    def projection_group(self, projection: str) -> str:
        return f"{self.prefix}.projection.{projection}"

    def bridge_client_id(self, host: str) -> str:
        return f"{self.prefix}.bridge-{host}"

    # Read models
    @property
    def pg_schema(self) -> str:
        return LIVE_SCHEMA if self.is_live else self.prefix

    @property
    def neo4j_ns(self) -> str:
        return LIVE_GRAPH_NS if self.is_live else self.prefix

    @property
    def redis_prefix(self) -> str:
        """Leading part of every Redis key: progress tables, lag, cache, tag records."""
        return f"{self.prefix}:"


LIVE = Namespace()
