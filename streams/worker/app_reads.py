"""The read layer of an aiohttp app: opened once per namespace and app, closed on cleanup.

The JSON API and the pages are mounted on the same app and share one Reads (one pooled
engine, one Neo4j driver) instead of each opening its own, or a driver per request.
"""

from __future__ import annotations

from aiohttp import web

from infra.settings import Settings
from projections.reads import Reads

_READS = web.AppKey("reads", dict[tuple[str, str], Reads])


def app_reads(app: web.Application, settings: Settings, schema: str, graph_ns: str) -> Reads:
    """The app's Reads for (schema, graph namespace), opened on first use."""
    if _READS not in app:
        app[_READS] = {}
        app.on_cleanup.append(_close)
    opened = app[_READS]
    if (schema, graph_ns) not in opened:
        opened[(schema, graph_ns)] = Reads.open(settings, schema, graph_ns)
    return opened[(schema, graph_ns)]


async def _close(app: web.Application) -> None:
    for reads in app[_READS].values():
        await reads.close()
