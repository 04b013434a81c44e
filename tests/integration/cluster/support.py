"""The test cluster's handle and helpers (conftest.py starts it)."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.stack import manager
from infra.stack.base import StackPaths
from infra.stack.kafka import KafkaNode

REPO = Path(__file__).resolve().parents[3]
SIZE = 3


def node_address(node: int) -> str:
    return f"127.0.0.1:{19091 + node}"


def without(*nodes: int) -> str:
    """A bootstrap list of the cluster's other nodes (so no request waits on a dead one)."""
    return ",".join(node_address(n) for n in range(1, SIZE + 1) if n not in nodes)


def progress(message: str) -> None:
    print(f"[cluster] {message}", flush=True)


def in_thread(fn: Any, *args: Any) -> Any:
    """Run blocking stack code off the test's event loop: it calls asyncio.run itself."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


@dataclass
class Cluster:
    paths: StackPaths
    bootstrap: str
    cold_start_s: float

    def node(self, node_id: int) -> KafkaNode:
        (svc,) = manager.load_services(self.paths, [f"kafka-{node_id}"], SIZE)
        assert isinstance(svc, KafkaNode)
        return svc

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a `tracktion` subprocess acting on this cluster."""
        return {**os.environ, "STACK_DIR": str(self.paths.state),
                "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap, "COLUMNS": "200", **extra}

    def cli(self, *args: str, timeout: float = 180, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "streams.cli.main", *args], cwd=REPO,
                              env=self.env(**env), capture_output=True, text=True,
                              timeout=timeout, check=False)
