"""One circuit breaker per dependency, with logged state changes, a state gauge, and a way to
wait (without polling) until an open breaker lets a trial call through.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import structlog
from aiobreaker import CircuitBreaker, CircuitBreakerError, CircuitBreakerListener
from aiobreaker import CircuitBreakerState as _State

from projections.metrics import CIRCUIT_BREAKER_STATE

T = TypeVar("T")
log = structlog.get_logger("projections.breaker")

STATE_NAMES: dict[_State, str] = {
    _State.CLOSED: "closed", _State.OPEN: "open", _State.HALF_OPEN: "half_open",
}
STATE_VALUES: dict[str, int] = {"closed": 0, "open": 1, "half_open": 2}

__all__ = ["Breaker", "BreakerConfig", "CircuitBreakerError", "breaker_for"]


@dataclass(frozen=True)
class BreakerConfig:
    """How many consecutive failures open the breaker, and how long it stays open."""

    fail_max: int = 3
    reset_timeout_s: float = 5.0
    # Pause between failed attempts while the breaker is still closed: retries stay cheap for
    # a blip, but a dead dependency is not hammered before the breaker trips.
    retry_backoff_s: float = 0.5


class _StateListener(CircuitBreakerListener):  # type: ignore[misc]
    """Logs every transition and mirrors it into the gauge and the owning Breaker."""

    def __init__(self, owner: Breaker) -> None:
        self._owner = owner

    def state_change(self, breaker: CircuitBreaker, old: Any, new: Any) -> None:
        old_name = STATE_NAMES[old.state] if old is not None else None
        new_name = STATE_NAMES[new.state]
        self._owner.note_state(new_name)
        log.warning("circuit_breaker_state_changed", dependency=self._owner.dependency,
                    old=old_name, new=new_name)


class Breaker:
    """An aiobreaker CircuitBreaker plus what the runner needs: state name and wait time.

    aiobreaker moves OPEN -> HALF_OPEN lazily, on the first call after the timeout; the
    runner therefore sleeps `seconds_until_trial()` and then makes that trial call itself.
    """

    def __init__(self, dependency: str, config: BreakerConfig) -> None:
        self.dependency = dependency
        self.config = config
        self._opened_monotonic = 0.0
        self._state = "closed"
        self.transitions: list[str] = []
        self._breaker = CircuitBreaker(
            fail_max=config.fail_max, timeout_duration=timedelta(seconds=config.reset_timeout_s),
            listeners=[_StateListener(self)], name=dependency)
        CIRCUIT_BREAKER_STATE.labels(dependency=dependency).set(0)

    @property
    def state(self) -> str:
        """"closed", "open" or "half_open" (for readiness endpoints and metrics)."""
        return self._state

    def note_state(self, name: str) -> None:
        self._state = name
        self.transitions.append(name)
        if name == "open":
            self._opened_monotonic = time.monotonic()
        CIRCUIT_BREAKER_STATE.labels(dependency=self.dependency).set(STATE_VALUES[name])

    def seconds_until_trial(self) -> float:
        """0 unless open; else the time left before a call is let through as a trial.

        Measured on the monotonic clock: aiobreaker's own `time_until_open` mixes utcnow()
        with now() and is wrong outside UTC. The small margin keeps its own check happy.
        """
        if self._state != "open":
            return 0.0
        left = self._opened_monotonic + self.config.reset_timeout_s - time.monotonic()
        return max(0.0, left) + 0.05

    async def call(self, func: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run `func` through the breaker; raises CircuitBreakerError while open."""
        result: T = await self._breaker.call_async(func, *args)
        return result


_registry: dict[str, Breaker] = {}


def breaker_for(dependency: str, config: BreakerConfig | None = None) -> Breaker:
    """The process-wide breaker of `dependency`: every runner writing to it shares one, so an
    outage seen by one stops them all. The first caller's config wins.
    """
    found = _registry.get(dependency)
    if found is None:
        found = _registry[dependency] = Breaker(dependency, config or BreakerConfig())
    return found
