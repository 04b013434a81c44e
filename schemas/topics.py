"""The topic catalogue: names, partitions, keys and retention of every Kafka topic we own.

File events travel in three priority lanes so that the analysis consumer can drain the
high lane first; together the lanes and the analysis topic are the event store and are
retained forever. All messages are keyed by `file_id`, so one file's events stay ordered
within a lane.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.envelope import PRIORITIES, Priority
from schemas.namespace import LIVE_PREFIX, Namespace

PREFIX = LIVE_PREFIX


@dataclass(frozen=True)
class TopicSpec:
    name: str
    purpose: str
    key: str = "file_id"
    partitions: int | None = None  # None: the configured default (KAFKA_PARTITIONS)
    config: dict[str, str] = field(default_factory=dict)


# retention.ms=-1 and retention.bytes=-1: never delete; these topics are the source of truth.
EVENT_STORE = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}


# The names come from Namespace; these take a bare prefix for the tests and benchmarks that
# hold one (the bridge, sinks, handler and agents take a Namespace).
def lane_topic(priority: Priority, prefix: str = PREFIX) -> str:
    return Namespace(prefix).lane_topic(priority)


def analysis_topic(prefix: str = PREFIX) -> str:
    return Namespace(prefix).analysis_topic


def deadletter_topic(prefix: str = PREFIX) -> str:
    return Namespace(prefix).deadletter_topic


def catalogue(prefix: str = PREFIX) -> list[TopicSpec]:
    ns = Namespace(prefix)
    lanes = [
        TopicSpec(ns.lane_topic(p), f"file events of {p} priority (event store lane)",
                  config=dict(EVENT_STORE))
        for p in PRIORITIES
    ]
    return [
        *lanes,
        TopicSpec(ns.analysis_topic, "AnalysisCompleted / AnalysisFailed (event store)",
                  config=dict(EVENT_STORE)),
        TopicSpec(ns.deadletter_topic,
                  "messages that could not be processed, with reason and original bytes",
                  key="file_id or none", partitions=3,
                  config={"retention.ms": str(30 * 24 * 3600 * 1000)}),
    ]
