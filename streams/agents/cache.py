"""Result cache by (analyzer_version, content_hash): an in-process LRU in front of Redis.

Identical bytes analysed by the same analyser version give the same features, so a
re-published, copied or moved file is never analysed twice. The LRU is bounded by
CACHE_SIZE_MB (entries are ~1 KB); Redis makes hits survive restarts and be shared by
workers on other hosts. Redis being down only costs cache hits, never correctness.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import msgspec

from infra.logging import get_logger
from infra.metrics import ANALYSIS_CACHE_HITS, ANALYSIS_CACHE_MISSES
from schemas.analysis_events import Features
from schemas.namespace import LIVE
from streams.agents.features import features_from

log = get_logger("cache")
ENTRY_BYTES = 1024


class ResultCache:
    """Holds validated, immutable Features: a hit handed out many times is the same value
    every time, whatever its receivers do with it."""

    def __init__(self, size_mb: int, redis: Any | None = None,
                 key_prefix: str = LIVE.redis_prefix) -> None:
        self._lru: OrderedDict[str, Features] = OrderedDict()
        self._capacity = max(16, size_mb * 1024 * 1024 // ENTRY_BYTES)
        self._redis = redis
        self._key_prefix = key_prefix
        self.hits = 0
        self.misses = 0

    def _key(self, version: int, content_hash: str) -> str:
        return f"{self._key_prefix}cache:v{version}:{content_hash}"

    async def get(self, version: int, content_hash: str) -> Features | None:
        key = self._key(version, content_hash)
        found = self._lru.get(key)
        if found is None and self._redis is not None:
            try:
                raw = await self._redis.get(key)
            except Exception as exc:
                log.warning("cache_redis_unavailable", error=str(exc))
                raw = None
            if raw:
                found = features_from(msgspec.json.decode(raw), version)
                self._remember(key, found)
        if found is None:
            self.misses += 1
            ANALYSIS_CACHE_MISSES.inc()
            return None
        self._lru.move_to_end(key)
        self.hits += 1
        ANALYSIS_CACHE_HITS.inc()
        return found

    async def put(self, version: int, content_hash: str, features: Features) -> None:
        key = self._key(version, content_hash)
        self._remember(key, features)
        if self._redis is not None:
            try:
                await self._redis.set(key, msgspec.json.encode(features))
            except Exception as exc:
                log.warning("cache_redis_unavailable", error=str(exc))

    def _remember(self, key: str, features: Features) -> None:
        self._lru[key] = features
        self._lru.move_to_end(key)
        while len(self._lru) > self._capacity:
            self._lru.popitem(last=False)
