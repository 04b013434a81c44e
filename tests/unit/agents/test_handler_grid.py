"""The beat grid measured by the analyser reaches AnalysisCompleted v3; cache entries from
before it report the grid unknown (None), never a made-up 0."""

from __future__ import annotations

from typing import Any

import msgspec

from streams.agents.cache import ResultCache
from streams.analysis.core import FileAnalysis
from streams.pool.reply import Analysed
from tests.unit.agents.test_handler_version import FakeRedis, run
from tests.unit.schemas.samples import FEATURES, INFO

GRID = {"first_beat_s": 0.137, "grid_confidence": 0.88, "downbeat_s": 2.072,
        "beats_per_bar": 3}


class AnalyserPool:
    """Returns exactly what a pool child returns for the analyser's FileAnalysis."""

    def __init__(self, **grid: Any) -> None:
        self.calls = 0
        self._grid = grid

    async def analyse(self, path: str, priority: int = 1) -> Analysed:
        self.calls += 1
        values = {**msgspec.structs.asdict(FEATURES), "tuning_cents": -3.0, **self._grid}
        analysis = FileAnalysis(**values, path=path, timings={"total": 0.1})
        return Analysed(analysis.measured(), analysis.timings, None)


async def test_the_analysers_grid_reaches_the_event() -> None:
    (event,) = (await run(2, ResultCache(1), AnalyserPool(**GRID), "e1")).completed()  # type: ignore[arg-type]
    f = event.payload.features
    assert event.schema_version == 4
    assert (f.first_beat_s, f.grid_confidence, f.downbeat_s, f.beats_per_bar) == (
        0.137, 0.88, 2.072, 3)


async def test_no_grid_found_is_carried_as_measured() -> None:
    pool = AnalyserPool(first_beat_s=None, grid_confidence=0.0, downbeat_s=None,
                        beats_per_bar=None)
    (event,) = (await run(2, ResultCache(1), pool, "e1")).completed()  # type: ignore[arg-type]
    f = event.payload.features
    assert (f.first_beat_s, f.grid_confidence, f.downbeat_s, f.beats_per_bar) == (
        None, 0.0, None, None)


async def test_a_cached_result_without_a_grid_reports_it_unknown() -> None:
    old = {k: v for k, v in msgspec.structs.asdict(FEATURES).items() if k not in GRID}
    cache = ResultCache(1, FakeRedis.holding(2, INFO.content_hash, old))
    pool = AnalyserPool(**GRID)
    (event,) = (await run(2, cache, pool, "e1")).completed()  # type: ignore[arg-type]
    f = event.payload.features
    assert event.payload.cached and pool.calls == 0
    assert (f.first_beat_s, f.grid_confidence, f.downbeat_s, f.beats_per_bar) == (
        None, None, None, None)
