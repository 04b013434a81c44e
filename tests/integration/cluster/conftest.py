"""A real three-node KRaft cluster for this package's tests.

Started once per test run (infra/stack/scratch_cluster.py: the path of
`tracktion stack up kafka --kafka-brokers 3`) in a state dir of its own, `.stack/cluster-test`,
so it never touches the single broker the rest of the suite uses, and stopped by the PIDs it
recorded there once this package's tests are done. Each run starts from fresh data.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from infra.settings import get_settings
from infra.stack import scratch_cluster
from infra.stack.base import StackError
from infra.stack.kafka import cluster_bootstrap
from tests.integration.cluster.support import REPO, SIZE, Cluster, in_thread, progress


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "cluster: starts a three-node Kafka cluster of its own (about 2 minutes)")


# Package scope: stopped as soon as this package's tests are done, not at the end of a whole
# suite run (three JVMs would otherwise idle on two cores through every later test).
@pytest.fixture(scope="package")
def cluster() -> Iterator[Cluster]:
    paths = scratch_cluster.scratch_paths(REPO, "cluster-test")
    started = time.monotonic()
    try:
        in_thread(scratch_cluster.start, paths, get_settings().stack_dir, progress)
    except StackError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        cold = time.monotonic() - started
        print(f"\n[cluster] cold start of {SIZE} nodes (format + start + all registered): "
              f"{cold:.1f} s", flush=True)
        yield Cluster(paths, cluster_bootstrap(SIZE), cold)
    finally:
        stopping = time.monotonic()
        in_thread(scratch_cluster.stop, paths, progress)
        print(f"\n[cluster] stopped in {time.monotonic() - stopping:.1f} s", flush=True)
