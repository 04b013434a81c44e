"""Readiness of a real projections worker: /health is cheap, /ready reports each dependency
with its latency (and the Postgres pool), turns 503 while Redis is stopped and 200 again once
it is back; /metrics exposes the circuit breakers."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import aiohttp

from infra.polling import poll_or_fail
from infra.settings import Settings
from streams.ops.worker_process import WorkerProcess
from tests.e2e.support import free_port
from tests.integration.kafka_utils import stack_service

DEPENDENCIES = ("kafka", "neo4j", "postgres", "redis")
PARTITIONS = 6
HEALTH_BUDGET_S = 0.100
DOWN_WITHIN_S = 5.0
BACK_WITHIN_S = 15.0


async def get(http: aiohttp.ClientSession, port: int, path: str,
              ) -> tuple[int, Any, float]:
    """(status, JSON or text body, seconds) of one request to the worker."""
    started = time.perf_counter()
    async with http.get(f"http://127.0.0.1:{port}{path}") as resp:
        body: Any = await (resp.json() if resp.content_type == "application/json"
                           else resp.text())
        return resp.status, body, time.perf_counter() - started


async def poll_ready(http: aiohttp.ClientSession, port: int, want: int, timeout_s: float,
                     worker: WorkerProcess) -> tuple[dict[str, Any], float]:
    """Poll /ready until it answers `want`; the last body and the seconds it took."""
    last: Any = None

    async def answers() -> bool:
        nonlocal last
        try:
            status, last, _ = await get(http, port, "/ready")
        except aiohttp.ClientError as exc:  # web server not listening yet
            last = repr(exc)
            return False
        return status == want

    def alive() -> None:
        assert worker.alive(), f"worker exited; see {worker.log_path}"

    took = await poll_or_fail(answers, timeout_s, lambda: f"/ready to answer {want} (last: {last})",
                              interval_s=0.2, alive=alive)
    return last, took


def stack(action: str) -> float:
    """`tracktion stack <action> redis`; returns the seconds it took."""
    return stack_service(action, "redis", timeout_s=120)


def assert_components(body: dict[str, Any]) -> None:
    components = body["components"]
    assert set(components) == set(DEPENDENCIES), components
    for name, comp in components.items():
        assert comp["status"] == "up", (name, comp)
        assert isinstance(comp["latency_ms"], int | float) and comp["latency_ms"] >= 0, comp
        assert comp["required"] is True, comp
    pool = components["postgres"].get("pool")
    assert isinstance(pool, dict), components["postgres"]
    assert {"size", "checked_in", "checked_out", "overflow"} <= set(pool), pool
    assert pool["size"] >= 1 and pool["checked_out"] >= 0, pool


async def test_ready_follows_redis_down_and_up(settings: Settings, prefix: str,
                                               tmp_path: Path) -> None:
    port = free_port()
    worker = WorkerProcess("projections", prefix, tmp_path / "worker.log", port=port)
    worker.start()
    timeout = aiohttp.ClientTimeout(total=10)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as http:
            body, took = await poll_ready(http, port, 200, 120, worker)
            print(f"\nready after {took:.1f} s")
            assert body["status"] == "ready"
            assert_components(body)

            health = [await get(http, port, "/health") for _ in range(5)]
            assert all(status == 200 and b["status"] == "ok" for status, b, _ in health), health
            median = statistics.median(s for _, _, s in health)
            print(f"/health median {median * 1e3:.1f} ms")
            assert median < HEALTH_BUDGET_S, [round(s * 1e3, 1) for _, _, s in health]

            status, metrics, _ = await get(http, port, "/metrics")
            assert status == 200
            for dep in ("postgres", "neo4j", "redis"):
                assert f'circuit_breaker_state{{dependency="{dep}"}}' in metrics, dep

            try:
                print(f"stack down redis took {stack('down'):.1f} s")
                body, took = await poll_ready(http, port, 503, DOWN_WITHIN_S, worker)
                print(f"/ready 503 after {took:.1f} s")
                components = body["components"]
                assert body["status"] == "not_ready"
                assert components["redis"]["status"] == "down", components["redis"]
                assert components["redis"]["error"] and "latency_ms" in components["redis"]
                assert all(components[d]["status"] == "up" for d in DEPENDENCIES
                           if d != "redis"), components
            finally:
                print(f"stack up redis took {stack('up'):.1f} s")
            body, took = await poll_ready(http, port, 200, BACK_WITHIN_S, worker)
            print(f"/ready 200 again after {took:.1f} s")
            assert_components(body)
            assert worker.alive(), "the worker must ride out a Redis outage"
    finally:
        code = worker.terminate(timeout=60) if worker.alive() else None
        worker.stop_quietly()
    assert code == 0, f"worker exit code {code}; see {worker.log_path}"
