"""A real three-node KRaft cluster for this package's tests.

Started once per test run by the stack's own code (`manager.up`, the path of
`tracktion stack up kafka --kafka-brokers 3`) in a state dir of its own, `.stack/cluster-test`,
so it never touches the single broker the rest of the suite uses, and stopped by the PIDs it
recorded there once this package's tests are done. Each run starts from fresh data: a new
cluster id, new voters. The jars are the single broker's, linked and only read.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from infra.settings import get_settings
from infra.stack import manager
from infra.stack.base import StackPaths
from infra.stack.kafka import cluster_bootstrap, reset_cluster
from tests.integration.cluster.support import REPO, SIZE, Cluster, in_thread, progress


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "cluster: starts a three-node Kafka cluster of its own (about 2 minutes)")


# Package scope: stopped as soon as this package's tests are done, not at the end of a whole
# suite run (three JVMs would otherwise idle on two cores through every later test).
@pytest.fixture(scope="package")
def cluster() -> Iterator[Cluster]:
    main_lib = get_settings().stack_dir.resolve() / "kafka" / "lib"
    if not (main_lib / ".pom.sha256").exists():
        pytest.fail(f"no Kafka jars in {main_lib}: run `tracktion stack up kafka` once",
                    pytrace=False)
    paths = StackPaths(repo=REPO, state=REPO / ".stack" / "cluster-test")
    # A crashed earlier session may have left its nodes running: they are ours (their PIDs
    # are recorded in this state dir), stop them before wiping their data.
    leftovers = manager.running_cluster_nodes(paths)
    if leftovers:
        in_thread(manager.down, paths, leftovers, progress, SIZE)
    reset_cluster(paths)
    (paths.state / "kafka").mkdir(parents=True, exist_ok=True)
    link = paths.state / "kafka" / "lib"
    if not link.is_symlink():
        link.symlink_to(main_lib, target_is_directory=True)
    started = time.monotonic()
    try:
        in_thread(manager.up, paths, ["kafka"], progress, SIZE)
        cold = time.monotonic() - started
        print(f"\n[cluster] cold start of {SIZE} nodes (format + start + all registered): "
              f"{cold:.1f} s", flush=True)
        yield Cluster(paths, cluster_bootstrap(SIZE), cold)
    finally:
        stopping = time.monotonic()
        in_thread(manager.down, paths, ["kafka"], progress, SIZE)
        print(f"\n[cluster] stopped in {time.monotonic() - stopping:.1f} s", flush=True)
