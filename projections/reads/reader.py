"""Both read models of one namespace behind one object, their clients opened once.

Entrypoints hold a Reads for their lifetime: the worker from startup to cleanup, a CLI
command for its run. Nothing connects until the first query.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.settings import Settings
from projections.reads.closing import Closing
from projections.reads.graph import GraphReads
from projections.reads.tracks import TrackReads


@dataclass(frozen=True)
class Reads(Closing):
    tracks: TrackReads  # PostgreSQL
    graph: GraphReads  # Neo4j

    @classmethod
    def open(cls, settings: Settings, schema: str, graph_ns: str) -> Reads:
        return cls(TrackReads.open(settings, schema), GraphReads.open(settings, graph_ns))

    async def close(self) -> None:
        try:
            await self.tracks.close()
        finally:
            await self.graph.close()
