"""The analysis handler stamps the deployment's ANALYZER_VERSION, not the pool child's constant,
and keys the result cache with it, so a new version misses results of the old one."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from infra.settings import Settings
from schemas.analysis_events import AnalysisCompleted
from schemas.codec import decode, encode
from schemas.file_events import FileDiscovered, FileDiscoveredPayload
from schemas.namespace import Namespace
from streams.agents.cache import ResultCache
from streams.agents.handler import AnalysisHandler, derived_id
from streams.analysis.version import ANALYZER_VERSION
from streams.pool.reply import Analysed
from tests.unit.schemas.samples import FEATURES, FID, INFO

CHILD_VERSION = 99  # what a pool child built from other code would stamp


class FakePool:
    """Stands in for AnalysisPool: returns what a child returns (the analyser's measured())."""

    def __init__(self, **overrides: Any) -> None:
        self.calls = 0
        self._overrides = overrides

    async def analyse(self, path: str, priority: int = 1) -> Analysed:
        self.calls += 1
        measured = {**msgspec.structs.asdict(FEATURES), "analyzer_version": CHILD_VERSION,
                    **self._overrides}
        return Analysed(measured, {"total": 0.1}, None)


class FakeRedis:
    """The two calls ResultCache makes, on a dict: what workers share across restarts."""

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}

    @classmethod
    def holding(cls, version: int, content_hash: str, entry: dict[str, Any]) -> FakeRedis:
        """A Redis with one entry cached by some build, as that build encoded it."""
        redis = cls()
        redis.values[f"tracktion:cache:v{version}:{content_hash}"] = msgspec.json.encode(entry)
        return redis

    async def get(self, key: str) -> bytes | None:
        return self.values.get(key)

    async def set(self, key: str, value: bytes) -> None:
        self.values[key] = value


class Sent:
    def __init__(self) -> None:
        self.records: list[tuple[str, bytes]] = []

    async def emit(self, topic: str, key: bytes | None, value: bytes,
                   headers: list[tuple[str, bytes]]) -> Any:
        self.records.append((topic, value))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    def completed(self) -> list[AnalysisCompleted]:
        events = [decode(v) for t, v in self.records if t == Namespace("t").analysis_topic]
        return [e for e in events if isinstance(e, AnalysisCompleted)]


def discovered(event_id: str) -> bytes:
    return encode(FileDiscovered.create(file_id=FID, correlation_id="c", event_id=event_id,
                                        payload=FileDiscoveredPayload(file=INFO)))


async def run(version: int, cache: ResultCache, pool: FakePool, event_id: str) -> Sent:
    sent = Sent()
    handler = AnalysisHandler(pool, cache, sent.emit, Namespace("t"), version)  # type: ignore[arg-type]
    await handler.handle(discovered(event_id), None)
    return sent


async def test_results_carry_the_configured_version_not_the_childs() -> None:
    cache, pool = ResultCache(1), FakePool()
    (event,) = (await run(1, cache, pool, "e1")).completed()
    assert event.payload.features.analyzer_version == 1
    assert event.payload.analysis_id == derived_id("e1", "analysis-v1")
    assert event.payload.features.tuning_cents == FEATURES.tuning_cents
    assert await cache.get(1, INFO.content_hash) is not None


async def test_a_new_version_misses_the_old_versions_cache() -> None:
    cache, pool = ResultCache(1), FakePool()
    await run(1, cache, pool, "e1")
    (again,) = (await run(1, cache, pool, "e2")).completed()
    assert pool.calls == 1 and again.payload.cached  # same version: a cache hit
    (upgraded,) = (await run(2, cache, pool, "e3")).completed()
    assert pool.calls == 2 and not upgraded.payload.cached
    assert upgraded.payload.features.analyzer_version == 2
    assert upgraded.payload.analysis_id == derived_id("e3", "analysis-v2")


async def test_a_cached_result_without_tuning_reports_it_unknown() -> None:
    """Entries cached by a build that did not measure tuning lack the key."""
    old = {k: v for k, v in msgspec.structs.asdict(FEATURES).items() if k != "tuning_cents"}
    cache = ResultCache(1, FakeRedis.holding(1, INFO.content_hash, old))
    (event,) = (await run(1, cache, FakePool(), "e1")).completed()
    assert event.payload.cached and event.payload.features.tuning_cents is None


def test_the_setting_defaults_to_the_code_constant_and_reads_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANALYZER_VERSION", raising=False)
    assert Settings().analyzer_version == ANALYZER_VERSION == 2
    monkeypatch.setenv("ANALYZER_VERSION", "1")
    assert Settings().analyzer_version == 1
