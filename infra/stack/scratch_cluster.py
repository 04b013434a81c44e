"""A throw-away three-node KRaft cluster in a state dir of its own (tests and benchmarks).

It is started by the same code as `tracktion stack up kafka --kafka-brokers 3`, on the
cluster ports (19092-19094), with fresh data every time: a new cluster id, new voters. The
jars are the single broker's, linked and only read, so the single-broker stack must have
been installed once. Only one scratch cluster can run at a time (the ports are fixed).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from infra.stack import manager
from infra.stack.base import StackError, StackPaths
from infra.stack.kafka import reset_cluster

SIZE = 3


def scratch_paths(repo: Path, name: str) -> StackPaths:
    return StackPaths(repo=repo, state=repo / ".stack" / name)


def start(paths: StackPaths, main_state: Path, progress: Callable[[str], None]) -> None:
    """Wipe and start the scratch cluster at `paths` with the jars of `main_state`."""
    main_lib = main_state.resolve() / "kafka" / "lib"
    if not (main_lib / ".pom.sha256").exists():
        raise StackError(f"no Kafka jars in {main_lib}: run `tracktion stack up kafka` once")
    # A crashed earlier run may have left its nodes running: they are ours (their PIDs are
    # recorded in this state dir), so stop them before wiping their data.
    leftovers = manager.running_cluster_nodes(paths)
    if leftovers:
        manager.down(paths, leftovers, progress, SIZE)
    reset_cluster(paths)
    (paths.state / "kafka").mkdir(parents=True, exist_ok=True)
    link = paths.state / "kafka" / "lib"
    if not link.is_symlink():
        link.symlink_to(main_lib, target_is_directory=True)
    manager.up(paths, ["kafka"], progress, SIZE)


def stop(paths: StackPaths, progress: Callable[[str], None]) -> None:
    manager.down(paths, ["kafka"], progress, SIZE)
