"""Shared test configuration: settings, unique names and the per-test namespace; the other
service fixtures live in integration/."""

from __future__ import annotations

import asyncio
import io
import os
import threading
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from infra.settings import Settings, get_settings


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture
def uid() -> str:
    """A short unique token for naming topics, schemas, key prefixes and labels per test."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
async def prefix(request: pytest.FixtureRequest, settings: Settings,
                 uid: str) -> AsyncIterator[str]:
    """This test's namespace prefix (integration and e2e tests alike), with its topics
    created: `PARTITIONS` of the module (default 3), unless the module sets
    `CREATE_TOPICS = False` (the code under test creates them). Afterwards every store the
    module uses (`SERVICES`, default all) is emptied of it and of its `<prefix>ref` twin (a
    reference rebuild); Kafka leftovers under unique names are harmless, any other failed
    clean-up fails the test."""
    from infra.kafka_admin import ensure_topics
    from schemas.namespace import Namespace
    from streams.ops.namespace import STORES
    from tests.e2e.support import cleanup_namespace

    name = f"n{uid}"
    if getattr(request.module, "CREATE_TOPICS", True):
        await ensure_topics(settings.kafka_bootstrap_servers,
                            getattr(request.module, "PARTITIONS", 3), Namespace(name))
    yield name
    used = set(getattr(request.module, "SERVICES", STORES))
    for ns in (name, f"{name}ref"):
        await cleanup_namespace(settings, ns, [s for s in STORES if s in used])


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
