"""The read API (JSON) served by the projections worker: tracks, mix, playlist, OpenAPI.

Same reads as `tracktion query ...` (projections/reads/); parameters use the same syntax as
the CLI options. Answers: 400 `{"error"}` for any bad parameter, 404 only for an unknown
track, 409 for a track not analysed yet, 503 with `Retry-After` while a store is
unreachable (streams/worker/http_errors.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from infra.settings import Settings, get_settings
from projections.reads import DEFAULT_TOLERANCE, parse_tolerance, track_query
from streams.worker.app_reads import app_reads
from streams.worker.http_errors import ErrorAnswers, HttpError, error_middleware

MAX_TRACKS = 1000
MAX_CANDIDATES = 200
MAX_PLAYLIST = 100
MAX_TEXT = 4096

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


class ApiError(HttpError):
    """A refusal answered as `{"error": message}`."""


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
    return parse_tolerance(text_param(query, "bpm_tolerance") or DEFAULT_TOLERANCE)


def _json_error(status: int, message: str) -> web.StreamResponse:
    return web.json_response({"error": message}, status=status)


api_errors = error_middleware(ErrorAnswers(
    name="api", logger="api", covers=lambda path: path.startswith("/api/"),
    render=_json_error, retry_hint="retry later"))


def add_routes(app: web.Application, schema: str, ns: str,
               settings: Settings | None = None) -> None:
    reads = app_reads(app, settings or get_settings(), schema, ns)

    async def tracks(request: web.Request) -> web.Response:
        q = request.query
        query = track_query(text_param(q, "key"), text_param(q, "compatible_with"),
                            text_param(q, "bpm"), text_param(q, "search"),
                            text_param(q, "status"), int_param(q, "limit", 50, MAX_TRACKS),
                            text_param(q, "min_confidence"))
        return _json(await reads.tracks.tracks(query))

    async def mix(request: web.Request) -> web.Response:
        q = request.query
        track, tolerance = text_param(q, "track", required=True), tolerance_param(q)
        limit = int_param(q, "limit", 10, MAX_CANDIDATES)
        return _json(await reads.graph.mix(track or "", tolerance, limit))

    async def playlist(request: web.Request) -> web.Response:
        q = request.query
        track, tolerance = text_param(q, "track", required=True), tolerance_param(q)
        length = int_param(q, "length", 10, MAX_PLAYLIST)
        return _json(await reads.graph.playlist(track or "", tolerance, length))

    async def openapi(_: web.Request) -> web.Response:
        return web.json_response(OPENAPI)

    app.middlewares.append(api_errors)
    app.router.add_get("/api/tracks", tracks)
    app.router.add_get("/api/mix", mix)
    app.router.add_get("/api/playlist", playlist)
    app.router.add_get("/openapi.json", openapi)


def _json(value: Any) -> web.Response:
    return web.json_response(value, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)  # timestamps and the like as text
