"""Read-only HTML pages served by the projections worker: Library, Wheel & tempo, Track,
Failures, Progress (Server-Sent Events) and Trace, over the same reads as the CLI and /api.

Static files are loaded once from this package and served by name; no request names a file
or a query. Bad parameters get a 400 page, an unreachable store a 503 page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import sqlalchemy.exc
from aiohttp import web

from infra.logging import get_logger
from infra.settings import Settings
from projections.postgres.schema import build_tables
from projections.postgres.writer import make_engine
from projections.redis.writer import connect
from streams.worker.api import store_unreachable
from streams.worker.pages import library, live, trace, track
from streams.worker.pages.context import PageContext
from streams.worker.pages.params import PageError
from streams.worker.pages.render import HEADERS, error_page

log = get_logger("pages")
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


def _missing_read_model(exc: BaseException) -> bool:
    """A schema or table not created yet (a fresh namespace), not a bug in the page."""
    return isinstance(exc, sqlalchemy.exc.ProgrammingError) and \
        isinstance(exc.orig, Exception) and "does not exist" in str(exc.orig)


@web.middleware
async def page_errors(request: web.Request,
                      handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                      ) -> web.StreamResponse:
    """Every failure of a page as an HTML page with the right status, bugs logged."""
    if request.path not in ROUTES:
        return await handler(request)
    try:
        for name, value in request.query.items():
            if "\x00" in name or "\x00" in value:
                raise PageError(400, f"{name.replace(chr(0), '')!r} contains a NUL byte")
        return await handler(request)
    except PageError as exc:
        return error_page(exc.status, exc.message)
    except web.HTTPException:
        raise
    except Exception as exc:
        if _missing_read_model(exc):
            return error_page(503, "the read model does not exist yet: start the projections "
                                   "worker (or run `tracktion db upgrade`)")
        if store_unreachable(exc):
            log.warning("page_store_unreachable", path=request.path, error=repr(exc))
            response = error_page(503, f"a store is unreachable ({type(exc).__name__}); "
                                       "retry in a few seconds")
            response.headers["Retry-After"] = "5"
            return response
        log.error("page_request_failed", path=request.path, exc_info=exc)
        return error_page(500, "internal error (logged on the server)")


def add_pages(app: web.Application, schema: str, graph_ns: str, redis_prefix: str,
              settings: Settings) -> None:
    """Mount the pages on `app` for one namespace (the projections role's)."""
    ctx = PageContext(settings=settings, engine=make_engine(settings),
                      tables=build_tables(schema), graph_ns=graph_ns,
                      redis=connect(settings.redis_url), redis_prefix=redis_prefix)
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
        await ctx.engine.dispose()
        await ctx.redis.aclose()

    async def end_streams(_: web.Application) -> None:
        ctx.stopping.set()

    app.on_shutdown.append(end_streams)
    app.on_cleanup.append(close)
    app.middlewares.append(page_errors)
    app.router.add_get("/", home)
    for path, handler in ROUTES.items():
        app.router.add_get(path, bind(handler))
    app.router.add_get("/static/{name}", serve_static)
