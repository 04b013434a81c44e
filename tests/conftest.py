"""Shared test configuration: settings and unique names; service fixtures live in integration/."""

from __future__ import annotations

import asyncio
import io
import os
import threading
import uuid
from collections.abc import Iterator

import pytest

from infra.settings import Settings, get_settings


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture
def uid() -> str:
    """A short unique token for naming topics, schemas, key prefixes and labels per test."""
    return uuid.uuid4().hex[:10]


# A test still running this long is about to hit pytest-timeout, which (thread method) dumps
# the threads and ends the run. Threads show only the event loop waiting in select(); the
# stuck coroutine is in a task. So first print every task's stack, naming the test.
HANG_REPORT_S = float(os.environ.get("TEST_HANG_REPORT_S", "540"))


def _report_hang(config: pytest.Config, nodeid: str) -> None:
    lines = [f"\n=== {nodeid} still running after {HANG_REPORT_S:.0f} s; asyncio tasks:\n"]
    for _ in range(3):  # the set of tasks may change while we walk it
        try:
            tasks = list(asyncio.tasks._all_tasks)
            break
        except RuntimeError:
            continue
    else:
        tasks = []
    for task in tasks:
        if task.done():
            continue
        out = io.StringIO()
        task.print_stack(file=out)
        lines.append(out.getvalue())
    capman = config.pluginmanager.getplugin("capturemanager")
    writer = config.get_terminal_writer()
    with capman.global_and_fixture_disabled():
        writer.write("".join(lines))
        writer.flush()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    timer = threading.Timer(HANG_REPORT_S, _report_hang, (item.config, item.nodeid))
    timer.daemon = True
    timer.start()
    try:
        return (yield)
    finally:
        timer.cancel()
