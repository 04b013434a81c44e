"""The one error middleware of the JSON API and the pages: each failure its status and body,
over an in-process server with handlers that raise (no store involved)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy.exc
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from projections.reads import BadQuery, NotAnalysed, TrackNotFound
from streams.worker.api import ApiError, api_errors
from streams.worker.pages import page_errors

RAISED: dict[str, Exception] = {
    "unknown": TrackNotFound("no track with file_id or path 'x'"),
    "pending": NotAnalysed("'x' has no key/tempo yet (not analysed)"),
    "bad": BadQuery("bpm_tolerance", "not a number: 'abc'", sep=": "),
    "refused": ApiError(400, "limit must be from 1 to 200, not 0"),
    "down": ConnectionRefusedError("refused"),
    "bug": RuntimeError("a bug"),
    "fresh": sqlalchemy.exc.ProgrammingError("SELECT", {}, Exception(
        'relation "t.tracks" does not exist')),
}


async def _raise(request: web.Request) -> web.Response:
    what = request.match_info["what"]
    if what == "fine":
        return web.json_response({"ok": True})
    raise RAISED[what]


@pytest.fixture
async def client() -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    app = web.Application(middlewares=[api_errors])
    app.router.add_get("/api/{what}", _raise)
    app.router.add_get("/other/{what}", _raise)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


@pytest.mark.parametrize(("what", "status", "error"), [
    ("unknown", 404, "no track with file_id or path 'x'"),
    ("pending", 409, "'x' has no key/tempo yet (not analysed)"),
    ("bad", 400, "bpm_tolerance: not a number: 'abc'"),
    ("refused", 400, "limit must be from 1 to 200, not 0"),
    ("down", 503, "a store is unreachable (ConnectionRefusedError); retry later"),
    ("bug", 500, "internal error (logged on the server)"),
    ("fresh", 500, "internal error (logged on the server)"),
])
async def test_api_failures_are_json_with_their_status(
        client: TestClient, what: str, status: int, error: str) -> None:  # type: ignore[type-arg]
    resp = await client.get(f"/api/{what}")
    assert (resp.status, await resp.json()) == (status, {"error": error})
    assert resp.headers.get("Retry-After") == ("5" if status == 503 else None)


async def test_nul_bytes_are_refused_and_other_paths_left_alone(
        client: TestClient) -> None:  # type: ignore[type-arg]
    resp = await client.get("/api/fine", params={"a\x00": "b"})
    assert (resp.status, await resp.json()) == (400, {"error": "'a' contains a NUL byte"})
    assert (await client.get("/api/fine")).status == 200
    assert (await client.get("/other/bug")).status == 500  # aiohttp's own page, not ours
    assert (await client.get("/other/fine", params={"a": "\x00"})).status == 200


async def test_pages_answer_with_html_and_explain_a_missing_read_model() -> None:
    app = web.Application(middlewares=[page_errors])
    for path in ("/library", "/track", "/wheel"):
        app.router.add_get(path, _raise_for(path))
    async with TestClient(TestServer(app)) as client:
        fresh = await client.get("/library")
        assert fresh.status == 503 and "does not exist yet" in await fresh.text()
        assert fresh.content_type == "text/html" and "Retry-After" not in fresh.headers
        unknown = await client.get("/track")
        assert unknown.status == 404 and "no track with" in await unknown.text()
        down = await client.get("/wheel")
        assert down.status == 503 and down.headers["Retry-After"] == "5"
        assert "retry in a few seconds" in await down.text()


def _raise_for(path: str) -> web.Handler:
    what = {"/library": "fresh", "/track": "unknown", "/wheel": "down"}[path]

    async def handler(_: web.Request) -> web.Response:
        raise RAISED[what]

    return handler
