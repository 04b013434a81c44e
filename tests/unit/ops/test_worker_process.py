"""The worker subprocess helper: child listing (what a hung worker's stop kills) and env."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from streams.ops.worker_process import WorkerProcess, child_pids


def test_child_pids_lists_our_direct_children() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in child_pids(os.getpid())
    finally:
        child.kill()
        child.wait(timeout=10)
    assert child_pids(2**22 + 1) == []  # above the largest pid_max Linux allows


def test_env_lays_extra_variables_over_ours(tmp_path: Path) -> None:
    worker = WorkerProcess("bridge", "p", tmp_path / "w.log", env={"LOG_FORMAT": "text",
                                                                  "EXTRA": "1"})
    assert worker.env["EXTRA"] == "1" and worker.env["LOG_FORMAT"] == "text"
    assert worker.env["PATH"] == os.environ["PATH"] and worker.name == "bridge"
    assert not worker.alive()
