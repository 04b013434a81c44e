"""The topic catalogue: names, partitions, keys and retention of every Kafka topic we own.

File events travel in three priority lanes so that the analysis consumer can drain the
high lane first; together the lanes and the analysis topic are the event store and are
retained forever. All messages are keyed by `file_id`, so one file's events stay ordered
within a lane.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.envelope import PRIORITIES
from schemas.namespace import LIVE, Namespace


@dataclass(frozen=True)
class TopicSpec:
    name: str
    purpose: str
    key: str = "file_id"
    partitions: int | None = None  # None: the configured default (KAFKA_PARTITIONS)
    config: dict[str, str] = field(default_factory=dict)


# retention.ms=-1 and retention.bytes=-1: never delete; these topics are the source of truth.
EVENT_STORE = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}


# The names come from Namespace (`ns.lane_topic(p)`, `ns.analysis_topic`, ...), which this
# only reads: a bare prefix is not accepted, so a schema or graph namespace cannot be passed
# for one. The default is the live system's.
def catalogue(ns: Namespace = LIVE) -> list[TopicSpec]:
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
