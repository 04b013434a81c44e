"""CPU seconds and peak RSS of process trees from /proc (no psutil), plus machine-wide CPU.

A worker's pool children are its child processes; their ffmpeg decoders are grandchildren
that live for one file and are reaped by the pool child, so their CPU lands in the pool
child's cutime/cstime. A pool child's figure therefore includes its decoders; a worker's
own figure does not include its pool children (they are listed separately).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_MB = os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


@dataclass
class Stat:
    pid: int
    ppid: int
    comm: str
    cpu_s: float  # utime + stime
    children_cpu_s: float  # cutime + cstime (reaped children: ffmpeg decoders)
    rss_mb: float


def read_stat(pid: int) -> Stat | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    comm = raw[raw.index("(") + 1:raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    # fields[0] is field 3 (state) of proc(5): ppid=4, utime=14, stime=15, cutime=16,
    # cstime=17, rss=24
    return Stat(pid=pid, ppid=int(fields[1]), comm=comm,
                cpu_s=(int(fields[11]) + int(fields[12])) / CLK_TCK,
                children_cpu_s=(int(fields[13]) + int(fields[14])) / CLK_TCK,
                rss_mb=int(fields[21]) * PAGE_MB)


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM: the kernel's own high-water mark of resident memory."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None


def schedstat(pid: int) -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting for one) summed over live threads.

    The wait is the direct measure of contention: time this process wanted a core that
    someone else (brokers, other engineers' jobs, our own other processes) had."""
    run = wait = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                fields = Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            run += int(fields[0])
            wait += int(fields[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return run / 1e9, wait / 1e9


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            "utf-8", "replace").strip()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return ""


def all_stats() -> dict[int, Stat]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = read_stat(int(entry))
            if stat is not None:
                out[stat.pid] = stat
    return out


def children(root: int, stats: dict[int, Stat]) -> list[int]:
    """Direct children only: grandchildren (decoders) are counted in their parent's cutime,
    so following them too would count their CPU twice."""
    return [s.pid for s in stats.values() if s.ppid == root]


def machine_cpu() -> dict[str, float]:
    """Cumulative machine CPU seconds by kind from /proc/stat (all cores together)."""
    parts = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    names = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
    return {n: int(v) / CLK_TCK for n, v in zip(names, parts, strict=False)}


def machine_cpu_delta(before: dict[str, float], after: dict[str, float],
                      ours_cpu_s: float | None = None) -> dict[str, Any]:
    delta = {k: after[k] - before[k] for k in before}
    total = sum(delta.values()) or 1e-9
    busy = total - delta["idle"] - delta["iowait"]
    out: dict[str, Any] = {"busy_cpu_s": round(busy, 1), "capacity_cpu_s": round(total, 1),
                           "busy_fraction": round(busy / total, 3),
                           "steal_fraction": round(delta.get("steal", 0.0) / total, 3)}
    if ours_cpu_s is not None:
        # Everything busy that is not ours: brokers, databases, and other engineers' work.
        out["not_ours_cpu_s"] = round(busy - ours_cpu_s, 1)
        out["not_ours_fraction_of_capacity"] = round((busy - ours_cpu_s) / total, 3)
    return out


@dataclass
class _Tracked:
    pid: int
    role: str
    kind: str  # main | pool | helper
    command: str
    first_cpu: float
    last_cpu: float
    peak_rss_mb: float = 0.0
    alive: bool = True
    first_wait: float = 0.0
    last_wait: float = 0.0


@dataclass
class TreeMonitor:
    """Samples root processes and their descendants every `interval_s` in a thread.

    `start()` marks the CPU baseline of what exists then; processes appearing later count
    from zero. `series` keeps (t, role, main RSS, largest pool child RSS) per sample.
    """

    roots: dict[str, int]
    interval_s: float = 0.5
    tracked: dict[int, _Tracked] = field(default_factory=dict)
    series: list[tuple[float, str, float, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _t0: float = 0.0

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._sample(baseline=True)
        self._thread = threading.Thread(target=self._loop, daemon=True, name="tree-monitor")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._sample(baseline=False)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample(baseline=False)

    def _kind(self, pid: int, root: int, command: str) -> str:
        if pid == root:
            return "main"
        if "spawn_main" in command:
            return "pool"
        return "helper"  # multiprocessing's resource tracker

    def _sample(self, baseline: bool) -> None:
        stats = all_stats()
        now = time.monotonic() - self._t0
        seen: set[int] = set()
        for role, root in self.roots.items():
            main_rss, pool_rss = 0.0, 0.0
            for pid in [root, *children(root, stats)]:
                stat = stats.get(pid)
                if stat is None:
                    continue
                seen.add(pid)
                cpu = stat.cpu_s + (stat.children_cpu_s if pid != root else 0.0)
                entry = self.tracked.get(pid)
                if entry is None:
                    command = cmdline(pid)
                    entry = _Tracked(pid, role, self._kind(pid, root, command), command[:160],
                                     first_cpu=cpu if baseline else 0.0, last_cpu=cpu)
                    self.tracked[pid] = entry
                entry.last_cpu = cpu
                entry.last_wait = schedstat(pid)[1]
                if baseline and entry.first_wait == 0.0:
                    entry.first_wait = entry.last_wait
                entry.peak_rss_mb = max(entry.peak_rss_mb, stat.rss_mb,
                                        peak_rss_mb(pid) or 0.0)
                if entry.kind == "main":
                    main_rss = stat.rss_mb
                elif entry.kind == "pool":
                    pool_rss = max(pool_rss, stat.rss_mb)
            self.series.append((round(now, 2), role, round(main_rss, 1), round(pool_rss, 1)))
        for pid, entry in self.tracked.items():
            if pid not in seen:
                entry.alive = False

    def report(self) -> dict[str, Any]:
        """Per role: the main process and each pool child, CPU seconds and peak RSS (MB)."""
        out: dict[str, Any] = {}
        for entry in self.tracked.values():
            if entry.kind == "helper" and entry.last_cpu - entry.first_cpu < 0.05:
                continue
            role = out.setdefault(entry.role, {"processes": [], "cpu_s": 0.0})
            cpu = entry.last_cpu - entry.first_cpu
            role["processes"].append({"pid": entry.pid, "kind": entry.kind,
                                      "cpu_s": round(cpu, 2),
                                      "runqueue_wait_s": round(
                                          entry.last_wait - entry.first_wait, 2),
                                      "peak_rss_mb": round(entry.peak_rss_mb, 1),
                                      "exited_during_run": not entry.alive})
            role["cpu_s"] = round(role["cpu_s"] + cpu, 2)
        return out

    def runqueue_wait_s(self, kind: str = "pool") -> float:
        return sum(e.last_wait - e.first_wait for e in self.tracked.values() if e.kind == kind)

    def pids(self) -> set[int]:
        return set(self.tracked)

    def total_cpu_s(self) -> float:
        return sum(e.last_cpu - e.first_cpu for e in self.tracked.values())


SERVICE_PATTERNS = {
    "kafka": "kafka.Kafka", "neo4j": "neo4j", "rabbitmq": "beam.smp",
    "postgres": "postgres", "redis": "redis-server", "jaeger": "jaeger",
}


def _per_service(value: Callable[[Stat], float]) -> dict[str, float]:
    """`value` summed over each local-stack server's processes (postgres: every backend)."""
    stats = all_stats()
    out = dict.fromkeys(SERVICE_PATTERNS, 0.0)
    for pid, stat in stats.items():
        command = cmdline(pid)
        for name, pattern in SERVICE_PATTERNS.items():
            if pattern in command and "python" not in command:
                out[name] += value(stat)
                break
    return out


def service_cpu() -> dict[str, float]:
    """Cumulative CPU seconds of the local stack's servers."""
    return _per_service(lambda stat: stat.cpu_s)


def service_rss_mb() -> dict[str, float]:
    """Resident memory of the local stack's servers now, MB."""
    return {k: round(v, 1) for k, v in _per_service(lambda stat: stat.rss_mb).items()}


def service_cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: round(max(0.0, after[k] - before.get(k, 0.0)), 1) for k in after}


def cpu_snapshot() -> dict[int, tuple[float, str]]:
    """Every process's CPU including its reaped children (a build tool's compilers, a test
    run's subprocesses), with its short name. PID 1 reaps every orphan on the machine, so
    only its own CPU counts."""
    out = {}
    for pid, stat in all_stats().items():
        out[pid] = (stat.cpu_s + (stat.children_cpu_s if pid != 1 else 0.0), stat.comm)
    return out


KNOWN_PROCESSES = frozenset({"java", "beam.smp", "postgres", "redis-server", "jaeger", "epmd",
                             "python", "ffmpeg", "fluidsynth", "erl_child_setup"})


def top_consumers(before: dict[int, tuple[float, str]], after: dict[int, tuple[float, str]],
                  exclude: set[int], capacity_s: float, n: int = 6) -> list[tuple[str, float]]:
    """Who else used the CPU between two snapshots: the noise, named. A child that ended in
    between shows up in its parent's figure (capped at the window's capacity, since a
    child's CPU from before the window arrives in one piece when it is reaped)."""
    used: dict[str, float] = {}
    for pid, (cpu, comm) in after.items():
        if pid in exclude:
            continue
        delta = min(cpu - before.get(pid, (0.0, comm))[0], capacity_s)
        if delta > 0.05:
            # Only names we know (the stack, our workers, decoders); anything else is "other":
            # command lines and foreign process names carry host details that do not belong
            # in committed results.
            label = comm if comm in KNOWN_PROCESSES else "other"
            used[label] = used.get(label, 0.0) + delta
    return [(k, round(v, 1)) for k, v in sorted(used.items(), key=lambda kv: -kv[1])[:n]]
