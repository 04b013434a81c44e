"""Readiness probes: each dependency checked concurrently with its latency and status."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

Probe = Callable[[], Awaitable[dict[str, Any] | None]]


@dataclass
class Readiness:
    """Named async probes; a probe raises (or times out) when its dependency is down."""

    probes: dict[str, Probe] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    timeout_s: float = 2.0

    def add(self, name: str, probe: Probe, required: bool = True) -> None:
        self.probes[name] = probe
        if required:
            self.required.add(name)

    async def _one(self, name: str, probe: Probe) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            extra = await asyncio.wait_for(probe(), timeout=self.timeout_s)
            status: dict[str, Any] = {"status": "up", **(extra or {})}
        except Exception as exc:  # any failure means "not ready"; the reason is reported
            status = {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
        status["latency_ms"] = round((time.perf_counter() - started) * 1e3, 2)
        status["required"] = name in self.required
        return status

    async def check(self) -> tuple[bool, dict[str, Any]]:
        names = list(self.probes)
        results = await asyncio.gather(*(self._one(n, self.probes[n]) for n in names))
        components = dict(zip(names, results, strict=True))
        ready = all(components[n]["status"] == "up" for n in self.required if n in components)
        return ready, components
