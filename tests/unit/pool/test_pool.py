"""The process pool: results, typed failures, timeouts kill and replace, memory recycling, order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from streams.pool.pool import AnalysisPool, PoolTaskError
from streams.pool.reply import Analysed

FAKE = "tests.unit.pool.fake_analyse:analyse"


@pytest.fixture
async def pool() -> AsyncIterator[AnalysisPool]:
    p = AnalysisPool(max_workers=2, timeout_s=2.0, max_memory_mb=300, analyse_ref=FAKE)
    p.start()
    yield p
    await p.close()


async def test_returns_results(pool: AnalysisPool) -> None:
    assert (await pool.analyse("ok:1")).measured == {"path": "ok:1"}


async def test_children_do_not_rerun_the_parents_main_module(pool: AnalysisPool) -> None:
    # Here the parent's main module is pytest's runner; in production it is the CLI. Either
    # way a child imports only what analysing needs (see pool._parent_main_hidden).
    assert (await pool.analyse("modules:")).measured == {"path": ""}


async def test_typed_failure_keeps_reason(pool: AnalysisPool) -> None:
    with pytest.raises(PoolTaskError) as err:
        await pool.analyse("corrupt:")
    assert (err.value.reason, err.value.transient) == ("corrupt", False)
    with pytest.raises(PoolTaskError) as err:
        await pool.analyse("crash:")
    assert err.value.reason == "internal" and "boom" in err.value.message
    assert (await pool.analyse("ok:after")).measured == {"path": "ok:after"}


async def test_timeout_kills_and_replaces_the_worker(pool: AnalysisPool) -> None:
    started = time.monotonic()
    results = await asyncio.gather(pool.analyse("sleep:30"), pool.analyse("ok:other"),
                                   return_exceptions=True)
    assert isinstance(results[0], PoolTaskError) and results[0].reason == "timeout"
    # the stuck file did not block the other one
    assert isinstance(results[1], Analysed) and results[1].measured == {"path": "ok:other"}
    assert time.monotonic() - started < 10
    assert pool.recycled == 1
    assert (await pool.analyse("ok:again")).measured == {"path": "ok:again"}


async def test_worker_over_memory_limit_is_recycled(pool: AnalysisPool) -> None:
    await pool.analyse("grow:400")
    assert pool.recycled == 1
    assert (await pool.analyse("ok:fresh")).measured == {"path": "ok:fresh"}


async def test_higher_priority_waiters_go_first() -> None:
    p = AnalysisPool(max_workers=1, timeout_s=10, max_memory_mb=300, analyse_ref=FAKE)
    p.start()
    try:
        order: list[str] = []

        async def run(path: str, priority: int) -> None:
            await p.analyse(path, priority)
            order.append(path)

        blocker = asyncio.create_task(run("sleep:1.5", 1))
        await asyncio.sleep(0.3)  # the single worker is now busy
        waiting = [asyncio.create_task(run(f"ok:low{i}", 2)) for i in range(3)]
        await asyncio.sleep(0.05)
        high = asyncio.create_task(run("ok:high", 0))
        await asyncio.gather(blocker, high, *waiting)
        assert order[:2] == ["sleep:1.5", "ok:high"]
    finally:
        await p.close()
