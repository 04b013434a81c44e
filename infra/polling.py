"""Polling until a condition holds: the one loop that tests and benchmarks share, so
deadlines, intervals and timeout messages mean the same thing everywhere."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

Predicate = Callable[[], bool | Awaitable[bool]]
"""A condition to poll: a plain function or a coroutine function, truthy when it holds."""


async def _holds(predicate: Predicate) -> bool:
    result = predicate()
    return bool(await result if inspect.isawaitable(result) else result)


async def poll_until(predicate: Predicate, timeout_s: float,
                     interval_s: float = 0.5) -> float | None:
    """Seconds until `predicate()` holds, or None if it did not within `timeout_s`.

    Checked at once, then every `interval_s` while the deadline is ahead. Compare the result
    with None, not its truth: a condition that holds at once can take 0.0 s.
    """
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if await _holds(predicate):
            return time.monotonic() - started
        await asyncio.sleep(interval_s)
    return None


async def poll_or_fail(predicate: Predicate, timeout_s: float, what: str | Callable[[], str],
                       *, interval_s: float = 0.5,
                       alive: Callable[[], None] | None = None) -> float:
    """Seconds until `predicate()` holds; AssertionError naming `what` and the timeout if not.

    `what` may be a function, called only on failure, so the message can carry the last state
    seen. `alive` runs before every check: raise from it when whatever would make the
    condition true has died (a worker process), instead of waiting out the full timeout.
    """
    async def check() -> bool:
        if alive is not None:
            alive()
        return await _holds(predicate)

    elapsed = await poll_until(check, timeout_s, interval_s)
    if elapsed is None:
        # AssertionError, not TimeoutError: the callers are tests, where a condition that never
        # held is a failed expectation, just like a failed assert.
        description = what() if callable(what) else what
        raise AssertionError(f"timed out after {timeout_s} s waiting for {description}")
    return elapsed
