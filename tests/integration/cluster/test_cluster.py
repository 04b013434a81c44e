"""A real three-node KRaft cluster: quorum, replicated topics, and a broker killed mid-write.

The cluster is this package's own (conftest.py), on 19092-19094; the single broker the rest
of the suite uses is not involved.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
from collections import Counter

import pytest
from aiokafka import AIOKafkaProducer

from infra.kafka_admin import TopicSetupError, describe_quorum, ensure_topics
from infra.stack import manager
from schemas.namespace import Namespace
from schemas.topics import TopicSpec, catalogue
from tests.integration.cluster.leadership import in_every_isr, led_elsewhere, partitions
from tests.integration.cluster.support import SIZE, Cluster, without
from tests.integration.kafka_utils import read_topic

SERVICES = ()  # nothing of the single-broker stack is needed
pytestmark = [pytest.mark.slow, pytest.mark.cluster, pytest.mark.timeout(240)]

RECORDS = 5_000
FAILOVER_LIMIT_S = 15.0


async def test_three_voters_a_leader_and_status(cluster: Cluster) -> None:
    quorum = await describe_quorum(cluster.bootstrap)
    assert sorted(quorum.voters) == [1, 2, 3]
    assert quorum.leader_id in quorum.voters
    assert quorum.brokers == (1, 2, 3)

    status = await asyncio.to_thread(cluster.cli, "stack", "status", "kafka",
                                     "--kafka-brokers", str(SIZE))
    assert status.returncode == 0, status.stderr
    for node in (1, 2, 3):
        assert re.search(rf"kafka-{node}\s+up\s+127\.0\.0\.1:{19091 + node}\b", status.stderr)
    leader = (await describe_quorum(cluster.bootstrap)).leader_id
    assert re.search(rf"kafka-{leader}\s+up .*quorum leader", status.stderr), status.stderr
    assert f"quorum leader kafka-{leader}" in status.stderr
    assert "voters [1, 2, 3]" in status.stderr

    # One node stopped by name: status says so (and fails), the other two keep a quorum.
    follower = next(n for n in (1, 2, 3) if n != leader)
    down = await asyncio.to_thread(cluster.cli, "stack", "down", f"kafka-{follower}")
    assert down.returncode == 0, down.stderr
    assert not cluster.node(follower).running()
    status = await asyncio.to_thread(cluster.cli, "stack", "status", "kafka",
                                     "--kafka-brokers", str(SIZE))
    assert status.returncode == 1
    assert re.search(rf"kafka-{follower}\s+down", status.stderr), status.stderr
    quorum = await describe_quorum(cluster.bootstrap)
    assert quorum.leader_id in {1, 2, 3} - {follower}
    started = time.monotonic()
    up = await asyncio.to_thread(cluster.cli, "stack", "up", f"kafka-{follower}")
    assert up.returncode == 0, up.stderr
    print(f"\n[cluster] `stack up kafka-{follower}` after `stack down`: "
          f"{time.monotonic() - started:.1f} s (CLI included)")
    assert (await describe_quorum(cluster.bootstrap)).brokers == (1, 2, 3)


async def test_replicated_topics_and_refusal(cluster: Cluster, uid: str) -> None:
    prefix = f"ct{uid}"
    created = await ensure_topics(cluster.bootstrap, 3, Namespace(prefix), replication_factor=3)
    assert set(created) == {t.name for t in catalogue(Namespace(prefix))}

    # The CLI with the environment `stack up --kafka-brokers 3` prints for clients.
    cli_prefix = f"cc{uid}"
    made = await asyncio.to_thread(cluster.cli, "topics", "create", "--prefix", cli_prefix,
                                   "--partitions", "3", KAFKA_REPLICATION_FACTOR="3")
    assert made.returncode == 0, made.stderr
    for name in (prefix, cli_prefix):
        shown = await asyncio.to_thread(cluster.cli, "topics", "describe", "--prefix", name,
                                        "--json")
        assert shown.returncode == 0, shown.stderr
        topics = json.loads(shown.stdout)
        assert len(topics) == len(catalogue(Namespace(name)))
        for topic in topics:
            assert topic["exists"] and topic["replication_factor"] == 3, topic
            assert topic["min_insync_replicas"] == "2", topic
            assert topic["under_replicated"] == 0, topic
            assert len(topic["partition_states"]) == topic["partitions"] == 3
            for part in topic["partition_states"]:
                assert part["leader"] in part["isr"], part
                assert sorted(part["isr"]) == sorted(part["replicas"]) == [1, 2, 3], part
    table = await asyncio.to_thread(cluster.cli, "topics", "describe", "--prefix", prefix,
                                    "--partitions")
    assert table.returncode == 0, table.stderr
    assert all(column in table.stdout for column in ("leader", "replicas", "ISR"))
    # A row per partition, whatever the box characters: topic, partition, leader, replicas.
    assert re.search(rf"{prefix}\.analysis\W+0\W+[123]\W+[123],[123],[123]\W",
                     table.stdout), table.stdout

    # Four replicas on three brokers: refused with the setting to change, nothing created.
    with pytest.raises(TopicSetupError, match=r"KAFKA_REPLICATION_FACTOR=4 .* 3 broker"):
        await ensure_topics(cluster.bootstrap, 3, Namespace(f"cr{uid}"), replication_factor=4)
    refused = await asyncio.to_thread(cluster.cli, "topics", "create", "--prefix", f"cx{uid}",
                                      KAFKA_REPLICATION_FACTOR="4")
    assert refused.returncode == 2 and "KAFKA_REPLICATION_FACTOR=4" in refused.stderr
    listed = await asyncio.to_thread(cluster.cli, "topics", "describe", "--prefix", f"cx{uid}",
                                     "--json")
    assert not any(t["exists"] for t in json.loads(listed.stdout))


async def test_broker_killed_mid_write(cluster: Cluster, uid: str) -> None:
    topic = f"cluster.kill.{uid}"
    await ensure_topics(cluster.bootstrap, 6, specs=[TopicSpec(topic, "broker kill test")],
                        replication_factor=3)
    before = await partitions(cluster.bootstrap, [topic])
    assert before is not None, f"cannot describe {topic}"
    victim, _ = Counter(p.leader for p in before.values()).most_common(1)[0]
    led = {slot for slot, p in before.items() if p.leader == victim}
    quorum_leader = (await describe_quorum(cluster.bootstrap)).leader_id
    survivors = without(victim)
    (pid,) = cluster.node(victim).pids()

    producer = AIOKafkaProducer(bootstrap_servers=cluster.bootstrap, acks="all",
                                enable_idempotence=True, linger_ms=5)
    await producer.start()
    futures: list[asyncio.Future[object]] = []
    killed_at = 0.0
    acked_at_kill = 0
    watcher: asyncio.Task[float | None] | None = None
    try:
        for i in range(RECORDS):
            futures.append(await producer.send(topic, f"v{i:05d}".encode(),
                                               key=f"file-{i % 101}".encode()))
            if i % 100 == 99:
                await asyncio.sleep(0.03)  # a steady stream, so the kill lands mid-flight
            if i == RECORDS // 2:
                acked_at_kill = sum(f.done() for f in futures)
                os.kill(pid, signal.SIGKILL)
                killed_at = time.monotonic()
                # Timed from the kill, not from the watcher's first poll.
                watcher = asyncio.create_task(led_elsewhere(survivors, [topic], led, victim,
                                                            since=killed_at))
        await asyncio.wait_for(asyncio.gather(*futures), timeout=90)  # raises if one failed
        produced_s = time.monotonic() - killed_at
        assert watcher is not None
        failover_s = await watcher
    finally:
        await producer.stop()
        if watcher is not None:
            watcher.cancel()
    print(f"\n[cluster] SIGKILL of kafka-{victim} (led {len(led)}/6 partitions; quorum leader "
          f"was kafka-{quorum_leader}) with {acked_at_kill}/{RECORDS // 2 + 1} records acked: "
          f"new leaders after {_secs(failover_s)}; the rest acknowledged {produced_s:.1f} s after "
          f"the kill")
    assert acked_at_kill > 0  # the stream was flowing; the second half follows the kill
    assert failover_s is not None and failover_s < FAILOVER_LIMIT_S, failover_s
    assert cluster.node(victim).running() is False

    records = await read_topic(survivors, topic, timeout_s=60)
    counts = Counter(r.value for r in records)
    assert len(records) == RECORDS, (len(records), counts.most_common(3))
    assert set(counts) == {f"v{i:05d}".encode() for i in range(RECORDS)}
    assert max(counts.values()) == 1

    started = time.monotonic()
    up = await asyncio.to_thread(cluster.cli, "stack", "up", f"kafka-{victim}")
    assert up.returncode == 0, up.stderr
    restart_s = time.monotonic() - started
    rejoined_s = await in_every_isr(cluster.bootstrap, [topic], victim, timeout_s=90,
                                    since=started)
    print(f"[cluster] `stack up kafka-{victim}` after the kill: {restart_s:.1f} s; back in the "
          f"ISR of all 6 partitions after {_secs(rejoined_s)}")
    assert rejoined_s is not None, f"kafka-{victim} did not rejoin every ISR in 90 s"
    rows = await asyncio.to_thread(manager.status, cluster.paths, ["kafka"], SIZE)
    assert [r.name for r in rows if not r.up] == []


def _secs(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"
