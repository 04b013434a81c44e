"""Read-only HTML pages served by the projections worker: Library, Wheel & tempo, Track,
Failures, Progress (Server-Sent Events) and Trace, over the same reads as the CLI and /api.

Static files are loaded once from this package and served by name; no request names a file
or a query. Bad parameters get a 400 page, an unreachable store a 503 page
(streams/worker/http_errors.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from infra.settings import Settings
from projections.reads import ProgressReads, TraceReads
from streams.worker.app_reads import app_reads
from streams.worker.http_errors import ErrorAnswers, error_middleware
from streams.worker.pages import library, live, trace, track
from streams.worker.pages.context import PageContext
from streams.worker.pages.render import HEADERS, error_page

Handler = Callable[[PageContext, web.Request], Awaitable[web.StreamResponse]]
ROUTES: dict[str, Handler] = {
    "/library": library.library, "/wheel": library.wheel, "/failures": library.failures,
    "/track": track.track, "/track.m3u": track.track_m3u, "/progress": live.progress,
    "/progress/events": live.events, "/trace": trace.trace,
}
_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}


def load_static() -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, content type) of every file shipped in static/."""
    folder = Path(__file__).parent / "static"
    return {p.name: (p.read_bytes(), _TYPES[p.suffix]) for p in sorted(folder.iterdir())
            if p.suffix in _TYPES}


page_errors = error_middleware(ErrorAnswers(
    name="page", logger="pages", covers=lambda path: path in ROUTES, render=error_page,
    retry_hint="retry in a few seconds",
    missing_read_model="the read model does not exist yet: start the projections worker "
                       "(or run `tracktion db upgrade`)"))


def add_pages(app: web.Application, schema: str, graph_ns: str, redis_prefix: str,
              settings: Settings) -> None:
    """Mount the pages on `app` for one namespace (the projections role's)."""
    ctx = PageContext(settings=settings, reads=app_reads(app, settings, schema, graph_ns),
                      progress=ProgressReads.open(settings, redis_prefix),
                      traces=TraceReads.open(settings))
    static = load_static()

    def bind(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def run(request: web.Request) -> web.StreamResponse:
            return await handler(ctx, request)
        return run

    async def serve_static(request: web.Request) -> web.Response:
        found = static.get(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound()
        body, kind = found
        return web.Response(body=body, content_type=kind, headers={
            **HEADERS, "Cache-Control": "max-age=300"})

    async def home(_: web.Request) -> web.Response:
        raise web.HTTPFound("/library")

    async def close(_: web.Application) -> None:
        try:
            await ctx.progress.close()
        finally:
            await ctx.traces.close()

    async def end_streams(_: web.Application) -> None:
        ctx.stopping.set()

    app.on_shutdown.append(end_streams)
    app.on_cleanup.append(close)
    app.middlewares.append(page_errors)
    app.router.add_get("/", home)
    for path, handler in ROUTES.items():
        app.router.add_get(path, bind(handler))
    app.router.add_get("/static/{name}", serve_static)
