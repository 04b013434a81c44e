"""The whole pipeline on the test cluster: worker subprocesses whose Kafka is the three-node
cluster (PostgreSQL, Neo4j, Redis and RabbitMQ are the main stack's), batches of files
published through RabbitMQ, and what the failure tests observe of partitions and groups."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.kafka_admin import PartitionState, describe_quorum
from infra.kafka_groups import GroupState, describe_group
from infra.polling import Predicate, poll_until
from infra.settings import Settings
from projections.redis.progress import BatchProgress
from projections.redis.side_writes import record_expected_total
from projections.redis.writer import connect
from schemas.envelope import file_id_for, new_id
from schemas.namespace import Namespace
from schemas.topics import catalogue
from streams.ops.worker_process import WorkerProcess
from streams.publishing.fileinfo import iter_audio_files
from streams.publishing.publisher import publish_paths
from streams.worker.projections_role import STORES
from tests.e2e.batch import (
    Settled,
    assert_alive,
    settle,
    spawn,
    stop_all,
    wait_for_progress,
    wait_ready,
)
from tests.integration.cluster.leadership import Slot, in_every_isr, led_elsewhere, partitions
from tests.integration.cluster.support import SIZE, Cluster, without

PARTITIONS = 6


def file_ids(files: Iterable[Path]) -> set[str]:
    return {file_id_for(str(root), path.relative_to(root).as_posix())
            for root, path in iter_audio_files(list(files))}


async def wait_for(check: Predicate, timeout_s: float, interval: float = 0.2) -> float | None:
    """Seconds, to a tenth (as the failure tests print them), until `check()` holds; None if
    not within `timeout_s`."""
    return _tenths(await poll_until(check, timeout_s, interval))


def _tenths(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)


@dataclass
class ClusterPipeline:
    """One namespace's workers on the cluster, and the batches published to them."""

    cluster: Cluster
    settings: Settings
    prefix: str
    tmp: Path
    workers: dict[str, WorkerProcess] = field(default_factory=dict)
    batches: dict[str, int] = field(default_factory=dict)  # correlation id -> files
    expected: set[str] = field(default_factory=set)
    runs: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.redis: Any = connect(self.settings.redis_url)

    @property
    def topics(self) -> list[str]:
        return [t.name for t in catalogue(Namespace(self.prefix))]

    @property
    def groups(self) -> list[str]:
        return [f"{self.prefix}-analysis",
                *(f"{self.prefix}.projection.{store}" for store in STORES)]

    def env(self, host: str) -> dict[str, str]:
        """A worker as if on host `host`: its own client ids, the cluster, RF 3."""
        return {"KAFKA_BOOTSTRAP_SERVERS": self.cluster.bootstrap,
                "KAFKA_REPLICATION_FACTOR": str(SIZE), "WORKER_HOST": host}

    async def start(self, role: str, host: str = "host-a") -> WorkerProcess:
        name = f"{role}@{host}"
        self.runs[name] += 1
        worker = spawn(role, self.prefix, self.tmp, f"{host}.{self.runs[name]}",
                       env=self.env(host))
        self.workers[name] = worker
        await wait_ready(worker)
        return worker

    async def start_all(self, analysis_hosts: int = 1, projection_hosts: int = 1) -> None:
        await self.start("bridge")
        for i in range(analysis_hosts):
            await self.start("analysis", f"host-{'ab'[i]}")
        for i in range(projection_hosts):
            await self.start("projections", f"host-{'ab'[i]}")

    async def publish(self, paths: list[Path]) -> str:
        """Publish the audio files under `paths` as one batch through RabbitMQ."""
        cid, ids = new_id(), file_ids(paths)
        await record_expected_total(self.redis, f"{self.prefix}:", cid, len(ids))
        result = await publish_paths(paths, self.settings, via="rabbitmq",
                                     ns=Namespace(self.prefix),
                                     correlation_id=cid)
        assert (result.files, result.published) == (len(ids), len(ids)), result.errors
        self.batches[cid] = len(ids)
        self.expected |= ids
        return cid

    async def progress(self, cid: str, finished: int) -> BatchProgress:
        return await wait_for_progress(self.redis, self.prefix, cid, finished, self.workers)

    def alive(self) -> None:
        assert_alive(self.workers)

    async def settle(self) -> Settled:
        """Every batch done and every store holding all of them."""
        return await settle(self.settings, self.redis, self.prefix, self.batches, self.workers,
                            bootstrap=self.cluster.bootstrap)

    async def partitions(self, bootstrap: str | None = None) -> dict[Slot, PartitionState]:
        found = await partitions(bootstrap or self.cluster.bootstrap, self.topics)
        assert found is not None, f"cannot describe the topics of {self.prefix}"
        return found

    async def busiest_leader(self) -> tuple[int, set[Slot]]:
        """The node leading the most of this namespace's partitions, and those partitions."""
        now = await self.partitions()
        node, _ = Counter(p.leader for p in now.values()).most_common(1)[0]
        return node, {slot for slot, p in now.items() if p.leader == node}

    async def controller(self) -> int:
        return (await describe_quorum(self.cluster.bootstrap)).leader_id

    async def led_elsewhere(self, slots: set[Slot], dead: int) -> float | None:
        """Seconds until every partition in `slots` has a live leader other than `dead`."""
        return _tenths(await led_elsewhere(without(dead), self.topics, slots, dead))

    async def back_in_isr(self, node: int, timeout_s: float = 120) -> float | None:
        """Seconds until `node` is in the ISR of every partition of this namespace."""
        return _tenths(await in_every_isr(self.cluster.bootstrap, self.topics, node,
                                          timeout_s=timeout_s))

    async def group(self, group: str) -> GroupState | None:
        try:
            return await asyncio.wait_for(describe_group(self.cluster.bootstrap, group), 8)
        except Exception:
            return None

    async def restart_node(self, node: int) -> float:
        """`tracktion stack up kafka-N`, as an operator would; seconds it took."""
        started = time.monotonic()
        up = await asyncio.to_thread(self.cluster.cli, "stack", "up", f"kafka-{node}")
        assert up.returncode == 0, up.stderr
        return time.monotonic() - started

    async def close(self) -> dict[str, int | None]:
        await self.redis.aclose()
        return stop_all(self.workers, self.settings.shutdown_timeout + 30)


def split(corpus: Path, first: int) -> tuple[list[Path], list[Path]]:
    """The corpus's audio files in two publishes: the first `first`, then the rest."""
    files = [path for _, path in iter_audio_files([corpus])]
    return files[:first], files[first:]
