"""Run one async client probe (asyncpg, aio_pika) to completion from synchronous stack code."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_probe(probe: Callable[[], Coroutine[Any, Any, T]], timeout: float) -> T:
    """Run `probe()` in a fresh event loop, bounded by `timeout` seconds overall.

    Client libraries' own connect timeouts don't cover every step (TLS-less AMQP handshakes can
    stall after the TCP connect), so the whole probe is wrapped. If the caller already runs an
    event loop in this thread (an async test calling `stack status`), asyncio.run would refuse,
    so the probe then runs in a short-lived worker thread with its own loop.
    """

    async def bounded() -> T:
        return await asyncio.wait_for(probe(), timeout)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(bounded())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, bounded()).result()


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_port(port: int, timeout: float, alive: Callable[[], bool]) -> bool:
    """Poll until host:port accepts connections; give up early once `alive()` turns false."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return True
        if not alive():
            return False
        time.sleep(0.1)
    return False
