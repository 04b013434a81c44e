"""The shared poll loop: None past the deadline, done on the first check that holds, and a
timeout message that says what was awaited and for how long. No I/O; tiny timeouts."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable

import pytest

from infra.polling import poll_or_fail, poll_until

TICK = 0.005


def true_on(call: int) -> tuple[list[int], Callable[[], bool]]:
    """A predicate that first holds on its `call`-th call, and the list counting its calls."""
    calls: list[int] = []

    def predicate() -> bool:
        calls.append(1)
        return len(calls) >= call

    return calls, predicate


async def test_poll_until_gives_none_once_the_timeout_has_passed() -> None:
    calls: list[int] = []

    def never() -> bool:
        calls.append(1)
        return False

    started = time.monotonic()
    assert await poll_until(never, 0.05, TICK) is None
    assert time.monotonic() - started >= 0.05
    assert len(calls) > 1  # checked repeatedly, not once then a sleep to the deadline


async def test_poll_until_stops_on_the_first_check_that_holds() -> None:
    calls, predicate = true_on(3)
    elapsed = await poll_until(predicate, 5, TICK)
    assert elapsed is not None and 0 <= elapsed < 1
    assert len(calls) == 3


async def test_poll_until_checks_before_its_first_sleep() -> None:
    # A minute's interval: only a check before sleeping returns within the second.
    calls, predicate = true_on(1)
    elapsed = await asyncio.wait_for(poll_until(predicate, 60, 60), 1)
    assert elapsed is not None and len(calls) == 1


async def test_poll_until_awaits_async_predicates() -> None:
    calls: list[int] = []

    async def third_time() -> bool:
        calls.append(1)
        return len(calls) == 3

    assert await poll_until(third_time, 5, TICK) is not None
    assert len(calls) == 3


async def test_poll_or_fail_names_what_and_the_timeout() -> None:
    with pytest.raises(AssertionError,
                       match=re.escape("timed out after 0.05 s waiting for the breaker open")):
        await poll_or_fail(lambda: False, 0.05, "the breaker open", interval_s=TICK)


async def test_poll_or_fail_describes_the_last_state_only_on_failure() -> None:
    seen: list[int] = []
    described: list[str] = []

    def predicate() -> bool:
        seen.append(len(seen))
        return False

    def what() -> str:
        described.append("x")
        return f"3 rows (last: {seen[-1]})"

    with pytest.raises(AssertionError, match=r"waiting for 3 rows \(last: [1-9]\d*\)$"):
        await poll_or_fail(predicate, 0.05, what, interval_s=TICK)
    assert described == ["x"]


async def test_poll_or_fail_returns_the_seconds_taken() -> None:
    calls, predicate = true_on(2)
    elapsed = await poll_or_fail(predicate, 5, "two calls", interval_s=TICK)
    assert 0 <= elapsed < 1 and len(calls) == 2


async def test_a_dead_alive_check_stops_poll_or_fail_at_once() -> None:
    calls, predicate = true_on(99)

    def alive() -> None:
        raise AssertionError("worker exited (1) waiting for rows: boom")

    with pytest.raises(AssertionError, match=re.escape("worker exited (1) waiting for rows")):
        await asyncio.wait_for(
            poll_or_fail(predicate, 60, "rows", interval_s=60, alive=alive), 1)
    assert calls == []  # checked before the predicate, not after a wasted attempt
