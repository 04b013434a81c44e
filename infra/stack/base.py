"""What every local-stack service is (install, start, ping, version, stop) and PID control.

Services run as plain child processes detached into their own session, with their PID in
`<state>/<service>/<service>.pid`. We only ever signal PIDs we recorded ourselves.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

Progress = Callable[[str], None]


class StackError(RuntimeError):
    """A service could not be installed, started or reached; the message says what to do."""


@dataclass(frozen=True)
class StackPaths:
    """Layout of the local stack: the repo (for build files) and the git-ignored state dir."""

    repo: Path
    state: Path

    @property
    def cache(self) -> Path:
        """Downloads that survive `stack down` (Maven repository, Go caches)."""
        return self.state / "cache"

    def service_dir(self, name: str) -> Path:
        path = self.state / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def pid_alive(pid: int) -> bool:
    """True if `pid` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state letter follows the parenthesised command name, which may itself contain spaces.
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def spawn(
    cmd: Sequence[str],
    *,
    log_file: Path,
    pid_file: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> int:
    """Start `cmd` detached (own session, output appended to `log_file`) and record its PID.

    `user` runs the process as another account (PostgreSQL refuses to run as root); the
    recorded PID is the server's own, since Popen switches user before exec, not via a wrapper.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **(env or {})}
    with log_file.open("ab") as log:
        log.write(f"\n--- {time.strftime('%Y-%m-%dT%H:%M:%S')} start: {' '.join(cmd)}\n".encode())
        proc = subprocess.Popen(
            list(cmd),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
            cwd=str(cwd) if cwd else None,
            start_new_session=True,
            user=user,
        )
    pid_file.write_text(str(proc.pid))
    return proc.pid


def terminate(pid: int, timeout: float = 30.0) -> None:
    """SIGTERM `pid`, wait up to `timeout`, then SIGKILL. Reaps it if it is our child."""
    if not pid_alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not pid_alive(pid):
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    for _ in range(50):
        _reap(pid)
        if not pid_alive(pid):
            return
        time.sleep(0.1)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def run(cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
        log_file: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a short command to completion; on failure raise StackError with its output tail."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(list(cmd), env=full_env, cwd=str(cwd) if cwd else None,
                          capture_output=True, text=True, check=False)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("a") as log:
            log.write(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}\n")
    if check and proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise StackError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{tail}")
    return proc


def tail(path: Path, lines: int = 10) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def require_binary(name: str, hint: str) -> str:
    found = shutil.which(name)
    if not found:
        raise StackError(f"`{name}` not found on PATH. {hint}")
    return found


class Service(ABC):
    """One real server of the local stack.

    `start` must return quickly (spawn and record PIDs); `Manager` polls `ping` until it
    answers. `ping` must speak the real protocol and raise on failure.
    """

    name: str
    port: int
    #: Extra seconds `stack up` waits for this service to answer after starting it.
    start_timeout: float = 90.0

    def __init__(self, paths: StackPaths) -> None:
        self.paths = paths
        self.dir = paths.service_dir(self.name)

    @property
    def log_file(self) -> Path:
        return self.dir / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        return self.dir / f"{self.name}.pid"

    def pids(self) -> list[int]:
        """PIDs this service recorded; subclasses with helper daemons (epmd) add theirs."""
        pid = read_pid(self.pid_file)
        return [pid] if pid is not None else []

    def running(self) -> bool:
        return any(pid_alive(p) for p in self.pids())

    @abstractmethod
    def installed(self) -> bool:
        """True when everything `start` needs is on disk."""

    @abstractmethod
    def install(self, progress: Progress) -> None:
        """Download/build/initialise, idempotently, reporting steps through `progress`."""

    @abstractmethod
    def start(self) -> None:
        """Spawn the server (detached) and record its PID file."""

    @abstractmethod
    def ping(self) -> None:
        """Raise unless the server answers a real request within a couple of seconds."""

    @abstractmethod
    def version(self) -> str:
        """The server's version string (may need it to be up)."""

    def after_up(self, progress: Progress) -> bool:
        """Once the server answers: make the application's credentials work on it.

        Returns True if the server must be restarted for them to apply (then `stack up`
        restarts it and calls this again). `ping` counts a refused login as an answer, so an
        install from before generated credentials is repaired here rather than timing out.
        """
        return False

    def stop(self) -> None:
        for pid in self.pids():
            terminate(pid)
        self.pid_file.unlink(missing_ok=True)
