"""`AnalysisPool`: N child processes, highest priority first, killed on timeout, recycled on RSS.

Why not `concurrent.futures.ProcessPoolExecutor`: it cannot kill one stuck task (a timeout
would leave the worker busy forever) and it has no notion of priority.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import multiprocessing as mp
import sys
import types
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess

from infra.logging import get_logger
from infra.metrics import ANALYSIS_TIMEOUTS, ANALYSIS_WORKER_UTILIZATION
from streams.pool.child import DEFAULT_ANALYSE, child_main
from streams.pool.reply import Analysed, Failed, Reply

log = get_logger("pool")
_ctx = mp.get_context("spawn")  # fork would copy the event loop, Kafka clients and threads
STARTUP_TIMEOUT_S = 120.0  # a fresh child imports Essentia and numpy before it is ready


@contextlib.contextmanager
def _parent_main_hidden() -> Iterator[None]:
    """Start children without the parent's `__main__` module.

    `spawn` re-runs the parent's main module in every child (so that objects pickled by
    reference to `__main__` resolve there). Our parent is the `tracktion` CLI, which imports
    aiohttp, aiokafka, asyncpg, SQLAlchemy and every command: ~110 MB and ~0.9 CPU s per
    child, recycled ones included. Children only run `child_main` from this package, so they
    need none of it. While a child starts, `__main__` is a bare module that names no file
    and no module, so `multiprocessing.spawn` has nothing to re-run. Children start on the
    event-loop thread, synchronously; the pool's I/O threads meanwhile only pickle paths
    and unpickle replies (classes of `streams.pool.reply`), which never look `__main__` up.
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


class PoolTaskError(Exception):
    def __init__(self, reason: str, message: str, transient: bool) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason, self.message, self.transient = reason, message, transient


@dataclass
class _Worker:
    process: SpawnProcess
    conn: Connection
    tasks: int = 0
    ready: bool = False


@dataclass(order=True)
class _Waiter:
    priority: int
    seq: int
    future: asyncio.Future[_Worker] = field(compare=False)


class AnalysisPool:
    def __init__(self, max_workers: int, timeout_s: float, max_memory_mb: int,
                 analyse_ref: str = DEFAULT_ANALYSE) -> None:
        self._analyse_ref = analyse_ref  # "module:function" imported in each child
        self.max_workers = max_workers
        self.timeout_s = timeout_s
        self.max_memory_mb = max_memory_mb
        self._idle: list[_Worker] = []
        self._waiters: list[_Waiter] = []
        self._seq = itertools.count()
        self._busy = 0
        self._threads = ThreadPoolExecutor(max_workers=max_workers,
                                           thread_name_prefix="pool-io")
        self.recycled = 0

    def start(self) -> None:
        self._idle = [self._spawn() for _ in range(self.max_workers)]

    def _spawn(self) -> _Worker:
        parent, child = _ctx.Pipe()
        process = _ctx.Process(target=child_main, args=(child, self._analyse_ref), daemon=True)
        with _parent_main_hidden():
            process.start()
        child.close()
        return _Worker(process, parent)

    async def _acquire(self, priority: int) -> _Worker:
        if self._idle and not self._waiters:
            return self._idle.pop()
        fut: asyncio.Future[_Worker] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, _Waiter(priority, next(self._seq), fut))
        return await fut

    def _release(self, worker: _Worker) -> None:
        while self._waiters:
            waiter = heapq.heappop(self._waiters)
            if not waiter.future.done():
                waiter.future.set_result(worker)
                return
        self._idle.append(worker)

    async def analyse(self, path: str, priority: int = 1) -> Analysed:
        """Analyse `path` in a child; lower `priority` numbers run first (0 = high)."""
        worker = await self._acquire(priority)
        self._busy += 1
        ANALYSIS_WORKER_UTILIZATION.set(self._busy / self.max_workers)
        try:
            reply = await asyncio.get_running_loop().run_in_executor(
                self._threads, self._roundtrip, worker, path)
        finally:
            self._busy -= 1
            ANALYSIS_WORKER_UTILIZATION.set(self._busy / self.max_workers)
        if reply is None:
            ANALYSIS_TIMEOUTS.inc()
            self._replace(worker, "timeout")
            raise PoolTaskError("timeout", f"analysis exceeded {self.timeout_s:.0f}s", False)
        worker.tasks += 1
        if reply.rss_mb > self.max_memory_mb:
            self._replace(worker,
                          f"rss {reply.rss_mb:.0f} MB > MAX_MEMORY_MB {self.max_memory_mb}")
        else:
            self._release(worker)
        outcome = reply.outcome
        if isinstance(outcome, Failed):
            raise PoolTaskError(outcome.reason, outcome.message, outcome.transient)
        return outcome

    def _roundtrip(self, worker: _Worker, path: str) -> Reply | None:
        """Blocking, in a thread: send, wait up to the timeout, receive. None means timed out."""
        try:
            if not worker.ready:
                if not worker.conn.poll(STARTUP_TIMEOUT_S):
                    return Reply(Failed("internal", "analysis worker did not start", True),
                                 float("inf"))
                worker.conn.recv()  # the child's READY
                worker.ready = True
            worker.conn.send(path)
            if not worker.conn.poll(self.timeout_s):
                return None
            reply: Reply = worker.conn.recv()
            return reply
        except (EOFError, OSError, BrokenPipeError):
            # The child died (killed by the OOM killer, a segfault in a decoder): report and
            # let the caller replace it.
            return Reply(Failed("internal", "analysis worker process died", True), float("inf"))

    def _replace(self, worker: _Worker, why: str) -> None:
        log.warning("pool_worker_recycled", pid=worker.process.pid, reason=why,
                    tasks=worker.tasks)
        worker.process.kill()
        worker.process.join(timeout=5)
        worker.conn.close()
        self.recycled += 1
        self._release(self._spawn())

    async def close(self) -> None:
        """Stop idle children politely; busy ones were awaited by the caller's shutdown."""
        for worker in self._idle:
            try:
                worker.conn.send(None)
            except OSError:
                pass
        for worker in self._idle:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
        self._idle.clear()
        self._threads.shutdown(wait=False, cancel_futures=True)
