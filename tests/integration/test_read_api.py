"""The worker's JSON read API over the real read models: tracks, mix, playlist, OpenAPI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from infra.kafka_admin import ensure_topics
from infra.settings import Settings
from streams.worker.projections_role import ProjectionsRole
from tests.e2e.support import cleanup_namespace
from tests.integration.kafka_utils import produce_events
from tests.integration.projections.redis_support import ROOT, batch_events
from tests.unit.schemas.samples import FEATURES

SERVICES = ("kafka", "postgres", "neo4j", "redis")


@pytest.fixture
async def client(settings: Settings, uid: str) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    prefix = f"a{uid}"
    await ensure_topics(settings.kafka_bootstrap_servers, 3, prefix)
    await produce_events(settings.kafka_bootstrap_servers, prefix, batch_events("api", 40))
    role = ProjectionsRole(settings, prefix)
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
