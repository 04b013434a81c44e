"""What the result cache hands out stays what was cached: the handler used to pop keys from
the very dict the in-process LRU held, so the LRU's entry drifted from Redis's copy."""

from __future__ import annotations

from streams.agents.cache import ResultCache
from tests.unit.agents.test_handler_version import FakePool, FakeRedis, run
from tests.unit.schemas.samples import INFO


async def test_a_cached_result_handed_out_twice_keeps_its_fields() -> None:
    redis = FakeRedis()
    cache, pool = ResultCache(1, redis), FakePool()
    (fresh,) = (await run(2, cache, pool, "e1")).completed()
    held = await cache.get(2, INFO.content_hash)
    (hit,) = (await run(2, cache, pool, "e2")).completed()
    (again,) = (await run(2, cache, pool, "e3")).completed()
    assert pool.calls == 1 and hit.payload.cached and again.payload.cached
    assert hit.payload.features == again.payload.features == fresh.payload.features
    assert await cache.get(2, INFO.content_hash) == held
    # Another worker (or this one after a restart) reads the entry from Redis: the same.
    assert await ResultCache(1, redis).get(2, INFO.content_hash) == held
