"""The read API (JSON) served by the projections worker: tracks, mix, playlist, OpenAPI.

Same queries as `tracktion query ...`; parameters use the same syntax as the CLI options.
Answers: 400 `{"error"}` for any bad parameter, 404 only for an unknown track, 409 for a
track not analysed yet, 503 with `Retry-After` while a store is unreachable.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import asyncpg
import neo4j.exceptions
import sqlalchemy.exc
import typer
from aiohttp import web

from infra.logging import get_logger
from infra.settings import Settings, get_settings
from projections.postgres.queries import search_tracks
from projections.postgres.schema import build_tables
from projections.postgres.writer import make_engine
from streams.cli.graph_query_cmd import NotAnalysed, UnknownTrack, _mix, _playlist, parse_tolerance
from streams.cli.query_cmd import track_query

log = get_logger("api")
MAX_TRACKS = 1000
MAX_CANDIDATES = 200
MAX_PLAYLIST = 100
MAX_TEXT = 4096
RETRY_AFTER_S = 5

OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Tracktion Streams read API", "version": "1"},
    "paths": {
        "/api/tracks": {"get": {
            "summary": "Tracks from the PostgreSQL read model",
            "parameters": [
                {"name": n, "in": "query", "schema": {"type": t}, "description": d}
                for n, t, d in (
                    ("key", "string", "8A, Am or 'A minor'"),
                    ("compatible_with", "string", "Camelot code: same number or +-1"),
                    ("bpm", "string", "range such as 120..128"),
                    ("search", "string", "fuzzy text over title/artist/album/path"),
                    ("status", "string", "queued|analysing|analysed|failed|deleted|all"),
                    ("min_confidence", "number",
                     "only tracks with bpm_confidence (tempo confidence, 0-1) at least this"),
                    ("limit", "integer", f"at most this many rows (default 50, 1-{MAX_TRACKS})"))],
            "responses": {"200": {"description": "a JSON list of tracks"},
                          "400": {"description": "a parameter is invalid"},
                          "503": {"description": "PostgreSQL unreachable; see Retry-After"}}}},
        "/api/mix": {"get": {
            "summary": "Tracks that mix harmonically with one track (Neo4j)",
            "parameters": [
                {"name": "track", "in": "query", "required": True,
                 "schema": {"type": "string"}, "description": "file id or path"},
                {"name": "bpm_tolerance", "in": "query", "schema": {"type": "string"},
                 "description": "e.g. 6%"},
                {"name": "limit", "in": "query", "schema": {"type": "integer"},
                 "description": f"1-{MAX_CANDIDATES}, default 10"}],
            "responses": {"200": {"description": "seed and scored candidates"},
                          "400": {"description": "a parameter is invalid or missing"},
                          "404": {"description": "unknown track"},
                          "409": {"description": "the track is not analysed yet"},
                          "503": {"description": "Neo4j unreachable; see Retry-After"}}}},
        "/api/playlist": {"get": {
            "summary": "A harmonic-mixing path through the graph",
            "parameters": [
                {"name": "track", "in": "query", "required": True,
                 "schema": {"type": "string"}},
                {"name": "length", "in": "query", "schema": {"type": "integer"},
                 "description": f"1-{MAX_PLAYLIST}, default 10"},
                {"name": "bpm_tolerance", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "the path with scores"},
                          "400": {"description": "a parameter is invalid or missing"},
                          "404": {"description": "unknown track"},
                          "409": {"description": "the track is not analysed yet"},
                          "503": {"description": "Neo4j unreachable; see Retry-After"}}}},
    },
}


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _option_names(message: str) -> str:
    """CLI wording ("--bpm-tolerance") to the API's parameter names ("bpm_tolerance")."""
    return re.sub(r"--([a-z][a-z-]*)", lambda m: m.group(1).replace("-", "_"), message)


def text_param(query: Mapping[str, str], name: str, required: bool = False) -> str | None:
    value = query.get(name)
    if value is None or value == "":
        if required:
            raise ApiError(400, f"{name} is required")
        return None
    if len(value) > MAX_TEXT:
        raise ApiError(400, f"{name} is longer than {MAX_TEXT} characters")
    return value


def int_param(query: Mapping[str, str], name: str, default: int, high: int) -> int:
    value = text_param(query, name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ApiError(400, f"{name} must be a whole number from 1 to {high}, "
                            f"not {value[:40]!r}") from None
    if not 1 <= number <= high:
        raise ApiError(400, f"{name} must be from 1 to {high}, not {number}"[:200])
    return number


def tolerance_param(query: Mapping[str, str]) -> float:
    try:
        return parse_tolerance(text_param(query, "bpm_tolerance") or "6%")
    except typer.BadParameter as exc:
        raise ApiError(400, _option_names(exc.message)) from None


def store_unreachable(exc: BaseException) -> bool:
    """Connection-level failures of a store (worth a retry), not errors in the request."""
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        return exc.connection_invalidated or isinstance(
            exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError) or \
            store_unreachable(exc.orig)  # type: ignore[arg-type]
    return isinstance(exc, OSError | TimeoutError | sqlalchemy.exc.TimeoutError
                      | asyncpg.exceptions.PostgresConnectionError
                      | asyncpg.exceptions.CannotConnectNowError
                      | neo4j.exceptions.ServiceUnavailable | neo4j.exceptions.SessionExpired)


@web.middleware
async def api_errors(request: web.Request,
                     handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                     ) -> web.StreamResponse:
    """Every failure of /api/* as JSON with the right status; real bugs logged with traces."""
    if not request.path.startswith("/api/"):
        return await handler(request)
    try:
        for name, value in request.query.items():
            if "\x00" in name or "\x00" in value:
                raise ApiError(400, f"{name.replace(chr(0), '')!r} contains a NUL byte")
        return await handler(request)
    except ApiError as exc:
        return web.json_response({"error": exc.message}, status=exc.status)
    except web.HTTPException:
        raise
    except Exception as exc:
        if store_unreachable(exc):
            log.warning("api_store_unreachable", path=request.path, error=repr(exc))
            return web.json_response(
                {"error": f"a store is unreachable ({type(exc).__name__}); retry later"},
                status=503, headers={"Retry-After": str(RETRY_AFTER_S)})
        log.error("api_request_failed", path=request.path, exc_info=exc)
        return web.json_response({"error": "internal error (logged on the server)"},
                                 status=500)


def add_routes(app: web.Application, schema: str, ns: str,
               settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    # One pooled engine for the API's lifetime (DATABASE_POOL_* apply); a fresh engine per
    # request cost ~8 ms against ~0.3 ms from a kept pool.
    engine = make_engine(settings)
    tables = build_tables(schema)

    async def tracks(request: web.Request) -> web.Response:
        q = request.query
        try:
            query = track_query(text_param(q, "key"), text_param(q, "compatible_with"),
                                text_param(q, "bpm"), text_param(q, "search"),
                                text_param(q, "status"), int_param(q, "limit", 50, MAX_TRACKS),
                                text_param(q, "min_confidence"))
        except ValueError as exc:
            raise ApiError(400, _option_names(str(exc))) from None
        async with engine.connect() as conn:
            rows = await search_tracks(conn, tables, query)
        return web.json_response(rows, dumps=_dumps)

    async def close_engine(_: web.Application) -> None:
        await engine.dispose()

    app.on_cleanup.append(close_engine)

    async def mix(request: web.Request) -> web.Response:
        q = request.query
        track, tolerance = text_param(q, "track", required=True), tolerance_param(q)
        limit = int_param(q, "limit", 10, MAX_CANDIDATES)
        return await _graph(lambda: _mix(ns, track or "", tolerance, limit, settings))

    async def playlist(request: web.Request) -> web.Response:
        q = request.query
        track, tolerance = text_param(q, "track", required=True), tolerance_param(q)
        length = int_param(q, "length", 10, MAX_PLAYLIST)
        return await _graph(lambda: _playlist(ns, track or "", tolerance, length, settings))

    async def openapi(_: web.Request) -> web.Response:
        return web.json_response(OPENAPI)

    app.middlewares.append(api_errors)
    app.router.add_get("/api/tracks", tracks)
    app.router.add_get("/api/mix", mix)
    app.router.add_get("/api/playlist", playlist)
    app.router.add_get("/openapi.json", openapi)


async def _graph(run: Callable[[], Awaitable[Any]]) -> web.Response:
    try:
        return web.json_response(await run(), dumps=_dumps)
    except UnknownTrack as exc:
        raise ApiError(404, exc.message) from None
    except NotAnalysed as exc:
        raise ApiError(409, exc.message) from None
    except typer.BadParameter as exc:
        raise ApiError(400, _option_names(exc.message)) from None
    except ValueError as exc:
        raise ApiError(400, _option_names(str(exc))) from None


def _dumps(value: Any) -> str:
    import json

    return json.dumps(value, default=str)
