"""`tracktion worker --role ...` as a subprocess we own: what tests and benchmarks start, signal
(SIGTERM like an operator, SIGKILL like a crash) and read the JSON log of."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WORKER_MODULE = "streams.cli.main"


def child_pids(pid: int) -> list[int]:
    """Direct children of `pid` (any of its threads may have started them), from /proc."""
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return out
    for tid in tasks:
        try:
            out += [int(c) for c in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
        except FileNotFoundError:
            continue  # the thread ended while we looked
    return out


class WorkerProcess:
    """One worker subprocess: its role, namespace prefix, HTTP port (0: none) and log file.

    `env` is laid over the parent's environment (plus LOG_FORMAT=json, which `started` and the
    callers' log checks parse); `module` lets a benchmark run a patched launcher instead.
    """

    def __init__(self, role: str, prefix: str, log_path: Path, env: dict[str, str] | None = None,
                 port: int = 0, module: str = WORKER_MODULE, name: str | None = None) -> None:
        self.role, self.prefix, self.log_path, self.port = role, prefix, log_path, port
        self.name = name or role
        self.module = module
        self.env = {**os.environ, "LOG_FORMAT": "json", **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module, "--prefix", self.prefix, "worker",
             "--role", self.role, "--port", str(self.port)],
            cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def started(self) -> bool:
        # The JSON log event itself: a traceback quoting the source line that logs it
        # must not count as a start.
        return b'"event": "worker_started"' in self.log_path.read_bytes()

    async def wait_started(self, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.started():
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} did not start: {self.tail()}")
            await asyncio.sleep(0.2)

    def tail(self, chars: int = 2000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self, timeout: float = 60) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def stop_quietly(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self, timeout_s: float = 60.0) -> int | None:
        """SIGTERM (graceful), then SIGKILL of this PID and its own children if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        # Listed before the signal: once the worker is gone its children are re-parented
        # and no longer recognisable as ours.
        children = child_pids(self.proc.pid)
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            for pid in children:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.kill()
            return self.proc.wait(timeout=10)
