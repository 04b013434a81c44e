"""The worker's JSON read API over the real read models: tracks, mix, playlist, OpenAPI."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from infra.kafka_admin import ensure_topics
from infra.settings import Settings
from schemas.namespace import Namespace
from streams.worker.api import add_routes
from streams.worker.projections_role import ProjectionsRole
from tests.builders import ROOT
from tests.e2e.support import cleanup_namespace
from tests.integration.kafka_utils import produce_events
from tests.integration.projections.redis_support import batch_events
from tests.unit.schemas.samples import FEATURES

SERVICES = ("kafka", "postgres", "neo4j", "redis")


@pytest.fixture
async def client(settings: Settings, uid: str) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    prefix = f"a{uid}"
    await ensure_topics(settings.kafka_bootstrap_servers, 3, Namespace(prefix))
    await produce_events(settings.kafka_bootstrap_servers, prefix, batch_events("api", 40))
    role = ProjectionsRole(settings, Namespace(prefix))
    await role.start()
    await asyncio.gather(*(r.run_until_caught_up(timeout_s=120) for r in role.runners))
    app = web.Application()
    for add in role.routes():
        add(app)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client
    await role.stop()
    await cleanup_namespace(settings, prefix)


async def test_read_api_answers_like_the_cli(client: TestClient) -> None:  # type: ignore[type-arg]
    resp = await client.get("/api/tracks", params={"status": "analysed", "limit": "100"})
    tracks = await resp.json()
    # 40 files: 4 fail (i % 10 == 3), 1 is deleted, 1 gets a late "started" (clock skew)
    assert resp.status == 200 and len(tracks) == 34
    assert {t["camelot"] for t in tracks} == {"8A"}
    assert {(t["bpm_confidence"], t["tuning_cents"]) for t in tracks} == {
        (FEATURES.bpm_confidence, FEATURES.tuning_cents)}
    resp = await client.get("/api/tracks", params={"bpm": "nonsense"})
    assert resp.status == 400 and "BPM" in (await resp.json())["error"]
    # Every analysed track has the sample's confidence: the threshold keeps or drops them all.
    for threshold, count in ((FEATURES.bpm_confidence, 34), (FEATURES.bpm_confidence + 0.01, 0)):
        resp = await client.get("/api/tracks", params={
            "status": "analysed", "limit": "100", "min_confidence": str(threshold)})
        assert resp.status == 200 and len(await resp.json()) == count, threshold
    resp = await client.get("/api/tracks", params={"min_confidence": "sure"})
    assert resp.status == 400 and "confidence" in (await resp.json())["error"]
    seed = tracks[0]["path"]
    assert seed.startswith(ROOT)
    resp = await client.get("/api/mix", params={"track": seed, "limit": "5"})
    body = await resp.json()
    assert resp.status == 200 and len(body["candidates"]) == 5
    assert all(c["relation"] == "same" for c in body["candidates"])
    resp = await client.get("/api/playlist", params={"track": seed, "length": "4"})
    assert resp.status == 200 and len((await resp.json())["tracks"]) == 4
    resp = await client.get("/api/mix", params={"track": "/no/such.mp3"})
    assert resp.status == 404
    spec = await (await client.get("/openapi.json")).json()
    assert set(spec["paths"]) == {"/api/tracks", "/api/mix", "/api/playlist"}
    assert "min_confidence" in {p["name"] for p in spec["paths"]["/api/tracks"]["get"][
        "parameters"]}


SEED = "{seed}"  # replaced by an analysed track's path
PENDING = "{pending}"  # replaced by a track that failed analysis (no key/tempo)
# (path, params, status, words in the error). Before this table, the marked cases
# answered 500 (limit overflow, NUL byte), 404 (bad tolerance, missing track) or 200.
CASES: list[tuple[str, dict[str, str], int, str]] = [
    ("/api/tracks", {"limit": "100000000000000000000"}, 400, "limit must be from 1 to 1000"),
    ("/api/tracks", {"limit": "abc"}, 400, "limit must be a whole number"),
    ("/api/tracks", {"limit": "0"}, 400, "limit must be from 1"),
    ("/api/tracks", {"limit": "-5"}, 400, "limit must be from 1"),
    ("/api/tracks", {"search": "\x00"}, 400, "NUL byte"),
    ("/api/tracks", {"search": "a\x00b", "status": "all"}, 400, "NUL byte"),
    ("/api/tracks", {"key": "\x00"}, 400, "NUL byte"),
    ("/api/tracks", {"search": "x" * 5000}, 400, "longer than 4096"),
    ("/api/tracks", {"bpm": "nonsense"}, 400, "BPM"),
    ("/api/tracks", {"status": "bogus"}, 400, "status must be one of"),
    ("/api/tracks", {"min_confidence": "sure"}, 400, "confidence"),
    ("/api/tracks", {"limit": "1000"}, 200, ""),
    ("/api/mix", {}, 400, "track is required"),
    ("/api/mix", {"track": ""}, 400, "track is required"),
    ("/api/mix", {"track": SEED, "bpm_tolerance": "abc"}, 400, "bpm_tolerance: not a number"),
    ("/api/mix", {"track": SEED, "bpm_tolerance": "50%"}, 400, "bpm_tolerance must be"),
    ("/api/mix", {"track": SEED, "limit": "100000"}, 400, "limit must be from 1 to 200"),
    ("/api/mix", {"track": SEED, "limit": "abc"}, 400, "limit must be a whole number"),
    ("/api/mix", {"track": "\x00"}, 400, "NUL byte"),
    ("/api/mix", {"track": "/no/such.mp3"}, 404, "no track"),
    ("/api/mix", {"track": PENDING}, 409, "not analysed"),
    ("/api/mix", {"track": SEED, "limit": "3"}, 200, ""),
    ("/api/playlist", {}, 400, "track is required"),
    ("/api/playlist", {"track": SEED, "length": "-1"}, 400, "length must be from 1 to 100"),
    ("/api/playlist", {"track": SEED, "length": "100000"}, 400, "length must be from 1 to 100"),
    ("/api/playlist", {"track": SEED, "length": "abc"}, 400, "length must be a whole number"),
    ("/api/playlist", {"track": SEED, "bpm_tolerance": "x"}, 400, "bpm_tolerance"),
    ("/api/playlist", {"track": "/no/such.mp3"}, 404, "no track"),
    ("/api/playlist", {"track": PENDING}, 409, "not analysed"),
    ("/api/playlist", {"track": SEED, "length": "100"}, 200, ""),
]


async def test_every_bad_request_gets_its_own_status_and_a_json_error(
        client: TestClient) -> None:  # type: ignore[type-arg]
    analysed = await (await client.get("/api/tracks", params={"status": "analysed"})).json()
    failed = await (await client.get("/api/tracks", params={"status": "failed"})).json()
    fill = {SEED: analysed[0]["path"], PENDING: failed[0]["path"]}
    wrong = []
    for path, params, status, words in CASES:
        resp = await client.get(path, params={k: fill.get(v, v) for k, v in params.items()})
        text = await resp.text()
        try:
            body = json.loads(text)
        except ValueError:  # e.g. aiohttp's plain-text 500 page
            body = text
        error = body.get("error", "") if isinstance(body, dict) else ""
        if resp.status != status or words not in error or (status != 200 and not error):
            wrong.append(f"{path} {str(params)[:80]}: {resp.status} {str(body)[:120]}, "
                         f"want {status} {words!r}")
    assert not wrong, "\n".join(wrong)


async def test_an_unreachable_store_is_503_with_retry_after(settings: Settings) -> None:
    # Real drivers against closed ports: what the API meets while a store is down.
    down = settings.model_copy(update={
        "database_url": "postgresql+asyncpg://tracktion:x@127.0.0.1:1/tracktion",
        "neo4j_uri": "bolt://127.0.0.1:1"})
    app = web.Application()
    add_routes(app, "tracktion", "live", down)
    async with TestClient(TestServer(app)) as test_client:
        for path, params in (("/api/tracks", {}), ("/api/mix", {"track": "x"}),
                             ("/api/playlist", {"track": "x"})):
            resp = await test_client.get(path, params=params)
            body = await resp.json()
            assert resp.status == 503, (path, resp.status, body)
            assert resp.headers["Retry-After"] == "5" and "unreachable" in body["error"]


async def test_the_demo_seeds_query_mix_with_a_track_that_has_neighbours(
        client: TestClient, uid: str) -> None:  # type: ignore[type-arg]
    from pathlib import Path

    from streams.cli.demo_cmd import mix_seed
    from streams.cli.graph_query_cmd import fetch_mix

    analysed = await (await client.get("/api/tracks", params={"status": "analysed"})).json()
    failed = await (await client.get("/api/tracks", params={"status": "failed"})).json()
    # Sorted by name the unknown and the failed file come first, as the demo's first file did.
    paths = [Path("/music/api/0-unknown.mp3"), Path(failed[0]["path"]),
             Path(analysed[0]["path"])]
    seed = await asyncio.to_thread(mix_seed, paths, f"a{uid}")
    assert seed == Path(analysed[0]["path"])
    assert (await fetch_mix(f"a{uid}", str(seed), 0.06, 5))["candidates"]
