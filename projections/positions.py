"""Where a runner stands on its partitions: end offsets, caught-up checks and lag."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition

from projections.base import Checkpoints

Ends = dict[TopicPartition, int]


async def end_offsets(consumer: AIOKafkaConsumer, topics: list[str]) -> Ends:
    """End offset of every partition of `topics`, sampled now."""
    await consumer.topics()  # refresh metadata so every partition of every topic is known
    tps = [TopicPartition(t, p) for t in topics
           for p in sorted(consumer.partitions_for_topic(t) or ())]
    ends: Ends = await consumer.end_offsets(tps)
    return ends


def _done(checkpoints: Checkpoints, tp: TopicPartition) -> int:
    """The next offset the store still needs on `tp`."""
    return checkpoints.get((tp.topic, tp.partition), -1) + 1


async def reached(consumer: AIOKafkaConsumer, ends: Ends, checkpoints: Checkpoints) -> bool:
    """True when the store (or, for offsets without records, the consumer) is at `ends`."""
    owned = consumer.assignment()
    for tp, end in ends.items():
        if end == 0 or _done(checkpoints, tp) >= end:
            continue
        # Positions also cover offsets with no record (transaction markers, compaction).
        if tp not in owned or await consumer.position(tp) < end:
            return False
    return True


async def behind(consumer: AIOKafkaConsumer, ends: Ends, checkpoints: Checkpoints) -> str:
    """Which partitions are short of their end offsets, for a timeout message."""
    owned = consumer.assignment()
    parts = []
    for tp, end in sorted(ends.items()):
        done = _done(checkpoints, tp)
        if done < end:
            pos = await consumer.position(tp) if tp in owned else "unassigned"
            parts.append(f"{tp.topic}[{tp.partition}] checkpoint+1={done} position={pos} "
                         f"end={end}")
    return "; ".join(parts) or "pending batch unwritten"


def lag(consumer: AIOKafkaConsumer, checkpoints: Checkpoints) -> int:
    """Records on assigned partitions that the store has not got yet."""
    total = 0
    for tp in consumer.assignment():
        high = consumer.highwater(tp)
        if high is not None:
            total += max(0, high - _done(checkpoints, tp))
    return total
