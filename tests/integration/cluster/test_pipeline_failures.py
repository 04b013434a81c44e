"""The whole pipeline on the three-node cluster while brokers fail: a broker killed, the
active controller killed, two brokers down, a rolling restart, and workers on two "hosts"
with one of each killed. Every file must end up analysed exactly once in every read model,
with no event missing from the log and exact Redis counts.

Only Kafka is the cluster; RabbitMQ, PostgreSQL, Neo4j and Redis are the main stack's.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from infra.kafka_admin import describe_quorum, ensure_topics
from infra.settings import Settings
from schemas.namespace import Namespace
from streams.ops.namespace import drop_namespace
from tests.e2e.batch import assert_exactly_once
from tests.e2e.support import generated_corpus
from tests.integration.cluster.pipeline import PARTITIONS, ClusterPipeline, split, wait_for, without
from tests.integration.cluster.support import SIZE, Cluster

SERVICES = ("postgres", "redis", "rabbitmq", "neo4j")  # Kafka is the cluster
pytestmark = [pytest.mark.slow, pytest.mark.cluster, pytest.mark.timeout(1200)]

FILES = 500
KILL_AFTER = 60  # analyses finished before the failure (well short of FILES)
SERVE_AGAIN_LIMIT_S = 15.0
OUTAGE_S = 30.0  # three of the bridge's 10 s stall reports


@pytest.fixture(scope="module")
def corpus() -> Path:
    return generated_corpus("chaos500", FILES, seconds=6.0)


@pytest.fixture
async def pipeline(cluster: Cluster, settings: Settings, uid: str,
                   tmp_path: Path) -> AsyncIterator[ClusterPipeline]:
    prefix = f"cp{uid}"
    await ensure_topics(cluster.bootstrap, PARTITIONS, Namespace(prefix),
                        replication_factor=SIZE)
    run = ClusterPipeline(cluster, settings, prefix, tmp_path)
    try:
        yield run
    finally:
        await run.close()
        for node in range(1, SIZE + 1):  # the next test starts from a whole cluster
            if not cluster.node(node).running():
                await run.restart_node(node)
        failed = await drop_namespace(settings, Namespace(prefix), ("postgres", "neo4j", "redis",
                                                         "rabbitmq"))
        assert not failed, f"clean-up of {prefix} failed: {failed}"


def sigkill(cluster: Cluster, node: int) -> None:
    (pid,) = cluster.node(node).pids()
    os.kill(pid, signal.SIGKILL)


async def finish(run: ClusterPipeline) -> None:
    """Settle every store, stop the workers cleanly and check exactly-once."""
    settled = await run.settle()
    codes = await run.close()
    assert all(c == 0 for c in codes.values()), codes
    assert_exactly_once(settled, run.expected)
    print(f"[cluster] redelivered analyses (at-least-once, absorbed): {settled.redelivered}")


async def test_broker_with_most_leaders_killed(pipeline: ClusterPipeline, corpus: Path) -> None:
    run = pipeline
    await run.start_all()
    cid = await run.publish([corpus])
    at = await run.progress(cid, KILL_AFTER)
    assert at.finished < FILES, f"the batch finished before the kill: {at}"
    victim, led = await run.busiest_leader()
    sigkill(run.cluster, victim)
    served_s = await run.led_elsewhere(led, victim)
    await finish(run)
    restart_s = await run.restart_node(victim)
    rejoined_s = await run.back_in_isr(victim)
    print(f"\n[cluster] SIGKILL kafka-{victim} (led {len(led)} of the namespace's partitions) "
          f"at {at.finished}/{FILES} analysed: served again after {served_s} s; restarted in "
          f"{restart_s:.1f} s, back in every ISR after {rejoined_s} s")
    assert served_s is not None and served_s < SERVE_AGAIN_LIMIT_S, served_s
    assert rejoined_s is not None, f"kafka-{victim} did not rejoin every ISR"


async def test_active_controller_killed(pipeline: ClusterPipeline, corpus: Path) -> None:
    run = pipeline
    await run.start_all()
    cid = await run.publish([corpus])
    at = await run.progress(cid, KILL_AFTER)
    assert at.finished < FILES, f"the batch finished before the kill: {at}"
    victim = await run.controller()
    led = {slot for slot, p in (await run.partitions()).items() if p.leader == victim}
    sigkill(run.cluster, victim)

    async def new_controller() -> bool:
        try:
            leader = (await describe_quorum(without(victim), timeout_ms=3000)).leader_id
        except Exception:
            return False
        return leader not in (victim, -1)

    elected_s = await wait_for(new_controller, 60)
    served_s = await run.led_elsewhere(led, victim)
    await finish(run)
    await run.restart_node(victim)
    rejoined_s = await run.back_in_isr(victim)
    print(f"\n[cluster] SIGKILL of the active controller kafka-{victim} (led {len(led)} "
          f"partitions) at {at.finished}/{FILES}: new controller after {elected_s} s, "
          f"partitions served again after {served_s} s, back in every ISR after {rejoined_s} s")
    assert elected_s is not None and elected_s < SERVE_AGAIN_LIMIT_S, elected_s
    assert served_s is not None and served_s < SERVE_AGAIN_LIMIT_S, served_s
    assert rejoined_s is not None


async def test_two_brokers_down_then_back(pipeline: ClusterPipeline, corpus: Path) -> None:
    run = pipeline
    first, second = split(corpus, 300)
    await run.start_all()
    cid = await run.publish(first)
    await run.progress(cid, KILL_AFTER)
    keep = (await run.busiest_leader())[0]
    down = [n for n in range(1, SIZE + 1) if n != keep]
    for node in down:
        sigkill(run.cluster, node)
    # Published while Kafka cannot take a write (one of three nodes: no quorum, no ISR of 2):
    # RabbitMQ holds them, and the bridge must not ack what Kafka has not acknowledged.
    await run.publish(second)
    bridge = run.workers["bridge@host-a"]
    stalls_before = bridge.log_path.read_text().count('"bridge_kafka_send_stalled"')
    outage_started = time.monotonic()
    while time.monotonic() - outage_started < OUTAGE_S:
        run.alive()  # no worker may die of the outage
        await asyncio.sleep(1)
    # The idempotent producer retries for ever (it never expires a batch), so the bridge
    # waits: loudly, with an error line (and bridge_send_stalls_total) every 10 s.
    stalls = bridge.log_path.read_text().count('"bridge_kafka_send_stalled"') - stalls_before
    assert stalls >= 2, "the bridge waited silently while Kafka could not take a write"

    back = time.monotonic()
    await run.restart_node(down[0])
    await finish(run)
    drained_s = time.monotonic() - back
    await run.restart_node(down[1])
    print(f"\n[cluster] kafka-{down[0]} and kafka-{down[1]} SIGKILLed for {OUTAGE_S:.0f} s with "
          f"{len(second)} files published meanwhile: {stalls} bridge stall errors logged, "
          f"nothing lost; everything drained {drained_s:.1f} s after one node returned")
    for node in down:
        assert await run.back_in_isr(node) is not None, f"kafka-{node} did not rejoin"


async def test_rolling_restart(pipeline: ClusterPipeline, corpus: Path) -> None:
    run = pipeline
    await run.start_all()
    cid = await run.publish([corpus])
    at = await run.progress(cid, KILL_AFTER)
    steps: list[str] = []
    for node in range(1, SIZE + 1):
        started = time.monotonic()
        stopped = await asyncio.to_thread(run.cluster.cli, "stack", "down", f"kafka-{node}")
        assert stopped.returncode == 0, stopped.stderr
        down_s = time.monotonic() - started
        up_s = await run.restart_node(node)
        isr_s = await run.back_in_isr(node)
        assert isr_s is not None, f"kafka-{node} did not rejoin every ISR"
        steps.append(f"kafka-{node} down {down_s:.1f} s, up {up_s:.1f} s, in ISR {isr_s:.1f} s")
        run.alive()
    during = await run.progress(cid, 0)
    await finish(run)
    print(f"\n[cluster] rolling restart from {at.finished}/{FILES} analysed to "
          f"{during.finished}/{FILES}: " + "; ".join(steps))
    assert at.finished < FILES, f"the batch finished before the restart began: {at}"


# This test found a defect in the projection runner (records fetched while a rebalance
# landed mid-wait were dropped past: one file unfinished in one read model in 3 of 6 runs);
# fixed by giving the fetch back (projections/runner.py _give_back).
async def test_workers_on_two_hosts_one_of_each_killed(pipeline: ClusterPipeline,
                                                      corpus: Path) -> None:
    run = pipeline
    await run.start_all(analysis_hosts=2, projection_hosts=2)

    async def two_members_each() -> bool:
        states = [await run.group(g) for g in run.groups]
        return all(s is not None and s.stable and len(s.members) == 2 for s in states)

    assert await wait_for(two_members_each, 120, 0.5) is not None, "groups never had 2 members"
    before = {g: await run.group(g) for g in run.groups}
    for group, state in before.items():
        assert state is not None
        ids = sorted(m.client_id for m in state.members)
        assert len(set(ids)) == 2 and "host-a" in ids[0] and "host-b" in ids[1], (group, ids)
    held = {g: frozenset().union(*(m.partitions for m in s.members))
            for g, s in before.items() if s is not None}

    cid = await run.publish([corpus])
    at = await run.progress(cid, KILL_AFTER)
    assert at.finished < FILES, f"the batch finished before the kill: {at}"
    killed_at = time.monotonic()
    for name in ("analysis@host-b", "projections@host-b"):
        run.workers.pop(name).kill()
    moved: dict[str, float | None] = {}
    for group in run.groups:
        async def survivor_holds_all(group: str = group) -> bool:
            state = await run.group(group)
            return (state is not None and state.stable and len(state.members) == 1
                    and state.members[0].partitions == held[group]
                    and "host-a" in state.members[0].client_id)

        found = await wait_for(survivor_holds_all, 90, 0.25)
        moved[group] = None if found is None else round(time.monotonic() - killed_at, 1)
    await finish(run)
    print(f"\n[cluster] SIGKILL of analysis@host-b and projections@host-b at "
          f"{at.finished}/{FILES}: partitions held by host-a after (s) {moved}")
    assert all(held[g] for g in run.groups), held
    assert all(s is not None and s < 60 for s in moved.values()), moved
