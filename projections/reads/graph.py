"""Mixes and playlists from the Neo4j graph projection of one namespace, as plain dicts.

One driver for the reader's lifetime: the worker opens a GraphReads once and serves every
request from its connection pool (a driver per request paid a new Bolt handshake each time).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from neo4j import AsyncDriver

from infra.settings import Settings
from projections.neo4j import queries
from projections.neo4j.writer import connect
from projections.reads.closing import Closing
from projections.reads.errors import NotAnalysed, TrackNotFound
from projections.reads.params import check_tolerance


class GraphReads(Closing):
    def __init__(self, driver: AsyncDriver, ns: str) -> None:
        self.driver, self.ns = driver, ns

    @classmethod
    def open(cls, settings: Settings, ns: str) -> GraphReads:
        """A reader with its own driver; the driver connects on the first query."""
        return cls(connect(settings), ns)

    async def close(self) -> None:
        await self.driver.close()

    async def seed(self, ref: str) -> queries.Track:
        """The analysed track with file id or path `ref`."""
        track = await queries.find_track(self.driver, self.ns, ref)
        if track is None:
            raise TrackNotFound(f"no track with file_id or path {ref!r} in namespace {self.ns!r}")
        if track.camelot is None or track.bpm is None:
            raise NotAnalysed(f"{ref!r} has no key/tempo yet (not analysed)")
        return track

    async def mix(self, ref: str, tolerance: float, limit: int) -> dict[str, Any]:
        """Tracks that mix with `ref`: compatible key, tempo within `tolerance` (x0.5/1/2)."""
        check_tolerance(tolerance)
        seed = await self.seed(ref)
        found = await queries.mix(self.driver, self.ns, seed.file_id, tolerance, limit)
        return {"seed": asdict(seed), "bpm_tolerance": tolerance,
                "candidates": [asdict(c) for c in found]}

    async def playlist(self, ref: str, tolerance: float, length: int) -> dict[str, Any]:
        """A harmonic path of up to `length` tracks from `ref`, the seed as its first step."""
        check_tolerance(tolerance)
        seed = await self.seed(ref)
        path = await queries.playlist(self.driver, self.ns, seed.file_id, length, tolerance)
        steps = [{"track": asdict(seed), "relation": None, "ratio": None, "tempo_diff": None,
                  "score": None}] + [asdict(s) for s in path.steps]
        return {"seed": asdict(seed), "bpm_tolerance": tolerance, "length_requested": length,
                "score": path.score, "tracks": steps}

