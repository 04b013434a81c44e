"""The Neo4j graph projection against the real Neo4j (and Kafka through the runner); its
idempotency and replay are the writer contract's (test_writer_contract.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from neo4j import AsyncDriver
from typer.testing import CliRunner

from infra.settings import Settings
from projections.base import ProjectionSpec
from projections.neo4j import queries
from projections.neo4j.apply import Neo4jProjector
from projections.neo4j.camelot import RELATION_RANK, compatible
from projections.neo4j.writer import Neo4jWriter, connect
from projections.runner import ProjectionRunner
from tests.integration.conftest import require_tcp
from tests.integration.projections.neo4j_support import (
    completed,
    deleted,
    discovered,
    failed,
    feed,
    fid,
    moved,
    positioned,
    produce,
)

SERVICES = ("neo4j",)  # Kafka too, for the tests taking `kafka_up`

pytestmark = pytest.mark.asyncio(loop_scope="session")
Q = "MATCH (t:Track {ns: $ns, file_id: $id})-[r]->(x) RETURN type(r) AS type, properties(x) AS x"



@pytest.fixture
def kafka_up(settings: Settings) -> None:
    require_tcp("Kafka", settings.kafka_bootstrap_servers, 9092)


@pytest.fixture
async def driver(settings: Settings) -> AsyncIterator[AsyncDriver]:
    drv = connect(settings)
    yield drv
    await drv.close()


@pytest.fixture
async def writers(settings: Settings, driver: AsyncDriver,
                  uid: str) -> AsyncIterator[Callable[[str], Awaitable[Neo4jWriter]]]:
    """Writers on namespaces `t_<uid>_<name>`, every one dropped after the test."""
    made: list[Neo4jWriter] = []

    async def make(name: str = "live") -> Neo4jWriter:
        writer = Neo4jWriter(settings, f"t_{uid}_{name}", driver=driver)
        await writer.setup()
        made.append(writer)
        return writer

    yield make
    for writer in made:
        await writer.drop_namespace()


async def edges(writer: Neo4jWriter, rel: str) -> list[tuple[str, Any]]:
    records, _, _ = await writer.driver.execute_query(Q, {"ns": writer.ns, "id": fid(rel)})
    key = {"BY": "name", "ON": "name", "IN_GENRE": "name", "IN_KEY": "camelot",
           "IN_TEMPO": "bpm_floor", "MOVED_TO": "path"}
    return sorted((r["type"], r["x"][key[r["type"]]]) for r in records)


async def catch_up(settings: Settings, writer: Neo4jWriter, topics: list[str], group: str) -> int:
    runner = ProjectionRunner(ProjectionSpec(Neo4jProjector(), writer, "neo4j"), settings,
                              topics, group_id=group, batch_size=200)
    try:
        return await runner.run_until_caught_up(timeout_s=120)
    finally:
        await runner.stop()


async def test_kafka_events_build_the_graph(settings: Settings, writers: Any, uid: str,
                                            kafka_up: None, kafka_topic: Any) -> None:
    files, analysis = await kafka_topic("files"), await kafka_topic("analysis")
    events = [discovered("a.mp3", 1, artist="X", genre="Techno"),
              completed("a.mp3", 2, "8A", 124.4),
              discovered("b.mp3", 1, artist="X", album=None, genre=None)]
    await produce(settings, files, analysis, events)
    writer = await writers()
    assert await catch_up(settings, writer, [files, analysis], f"g-{uid}") == 3
    assert await edges(writer, "a.mp3") == [("BY", "X"), ("IN_GENRE", "Techno"),
                                            ("IN_KEY", "8A"), ("IN_TEMPO", 120), ("ON", "Album")]
    assert await edges(writer, "b.mp3") == [("BY", "X")]
    track = await queries.find_track(writer.driver, writer.ns, "/music/a.mp3")
    assert track is not None and (track.bpm, track.camelot, track.key) == (124.4, "8A", "A")
    checkpoints = await writer.load_checkpoints("neo4j")
    assert sum(o + 1 for o in checkpoints.values()) == 3
    wheel, _, _ = await writer.driver.execute_query(
        "MATCH (a:Key {ns: $ns})-[c:COMPATIBLE]->(b) RETURN count(DISTINCT a) AS k, count(c) AS c",
        {"ns": writer.ns})
    assert (wheel[0]["k"], wheel[0]["c"]) == (24, 96)


async def test_reanalysis_moves_the_track_with_no_stale_edges(writers: Any) -> None:
    writer = await writers()
    await feed(writer, positioned([discovered("r.mp3", 1), completed("r.mp3", 2, "8A", 124.0)]))
    late_old = completed("r.mp3", 1.5, "3B", 99.0)  # older than what is stored: ignored
    await feed(writer, positioned([completed("r.mp3", 5, "2B", 98.0), late_old]))
    assert [e for e in await edges(writer, "r.mp3") if e[0] in ("IN_KEY", "IN_TEMPO")] == [
        ("IN_KEY", "2B"), ("IN_TEMPO", 95)]
    buckets, _, _ = await writer.driver.execute_query(
        "MATCH (b:TempoBucket {ns: $ns}) RETURN collect(b.bpm_floor) AS f", {"ns": writer.ns})
    assert buckets[0]["f"] == [95]  # the emptied 120 bucket was collected


async def test_tracks_carry_the_beat_grid_and_it_follows_a_move(writers: Any) -> None:
    from tests.unit.schemas.samples import FEATURES

    writer = await writers()
    await feed(writer, positioned([discovered("g.mp3", 1), completed("g.mp3", 2, "8A", 124.0),
                                   moved("g.mp3", "h.mp3", 3)]))
    records, _, _ = await writer.driver.execute_query(
        "MATCH (t:Track {ns: $ns, file_id: $id}) RETURN t.first_beat_s AS first, "
        "t.grid_confidence AS conf, t.downbeat_s AS down, t.beats_per_bar AS bar",
        {"ns": writer.ns, "id": fid("h.mp3")})
    assert [tuple(r.values()) for r in records] == [
        (FEATURES.first_beat_s, FEATURES.grid_confidence, FEATURES.downbeat_s,
         FEATURES.beats_per_bar)]


async def test_delete_and_move_keep_analysis_with_the_file(writers: Any) -> None:
    writer = await writers()
    await feed(writer, positioned([discovered("old.mp3", 1, artist="Solo"),
                                   completed("old.mp3", 2, "8A", 124.0)]))
    await feed(writer, positioned([moved("old.mp3", "new.mp3", 3)]))
    assert await edges(writer, "old.mp3") == [("MOVED_TO", "/music/new.mp3")]
    assert ("IN_KEY", "8A") in await edges(writer, "new.mp3")
    await feed(writer, positioned([completed("old.mp3", 2.5, "5A", 100.0)]))  # read late
    assert ("IN_KEY", "5A") in await edges(writer, "new.mp3")
    await feed(writer, positioned([deleted("new.mp3", 9)]))
    assert await edges(writer, "new.mp3") == []
    left, _, _ = await writer.driver.execute_query(
        "MATCH (n {ns: $ns}) WHERE n:Artist OR n:Album OR n:Genre OR n:TempoBucket "
        "RETURN count(n) AS n", {"ns": writer.ns})
    assert left[0]["n"] == 0
    assert await queries.find_track(writer.driver, writer.ns, fid("new.mp3")) is None


async def status_of(writer: Neo4jWriter, rel: str) -> str:
    records, _, _ = await writer.driver.execute_query(
        "MATCH (t:Track {ns: $ns, file_id: $id}) RETURN t.status AS status",
        {"ns": writer.ns, "id": fid(rel)})
    return str(records[0]["status"])


async def test_the_old_paths_not_found_does_not_undo_the_moved_files_analysis(
        writers: Any) -> None:
    # Moved before its discovery was analysed: the move is analysed under the new id, then
    # the discovery fails at the old path. Before, that failure travelled along MOVED_TO.
    writer = await writers()
    await feed(writer, positioned([discovered("f.mp3", 1), moved("f.mp3", "g.mp3", 2),
                                   completed("g.mp3", 3, "8A", 110.0)]))
    await feed(writer, positioned([failed("f.mp3", 4, reason="not_found")]))
    assert await status_of(writer, "g.mp3") == "analysed"
    assert ("IN_KEY", "8A") in await edges(writer, "g.mp3")
    # A failure of the file itself still travels.
    await feed(writer, positioned([discovered("h.mp3", 1), failed("h.mp3", 2),
                                   moved("h.mp3", "i.mp3", 3)]))
    assert await status_of(writer, "i.mp3") == "failed"


CORPUS = {"seed": ("8A", 128.0), "a": ("8A", 126.0), "b": ("8B", 128.0), "c": ("9A", 130.0),
          "d": ("7A", 64.0), "e": ("8A", 140.0), "f": ("3B", 128.0), "g": ("8A", 257.0),
          "h": ("8A", 128.0), "i": ("10A", 128.0), "j": ("9B", 131.0), "k": ("11A", 127.0)}


async def corpus_writer(writers: Any) -> Neo4jWriter:
    writer = await writers("corpus")
    events: list[Any] = []
    for name, (code, bpm) in CORPUS.items():
        events += [discovered(f"mix/{name}.mp3", 1), completed(f"mix/{name}.mp3", 2, code, bpm)]
    await feed(writer, positioned([*events, deleted("mix/h.mp3", 3)]))
    return writer


def step_score(a: str, b: str, tol: float) -> float | None:
    """Reference scoring, computed here from the corpus without the graph."""
    (ca, ba), (cb, bb) = CORPUS[a], CORPUS[b]
    relation = {c.dst: c.relation for c in compatible(ca)}.get(cb)
    diff = min(abs(bb / (ba * m) - 1) for m in (0.5, 1.0, 2.0))
    if relation is None or diff > tol:
        return None
    return 3 - RELATION_RANK[relation] + 1 - diff / tol


def path_scores(length: int, tol: float) -> dict[tuple[str, ...], float]:
    """Every simple path of `length` tracks from the seed, by brute force, with its score."""
    live = sorted(n for n in CORPUS if n != "h")
    found: dict[tuple[str, ...], float] = {}

    def walk(path: tuple[str, ...], score: float) -> None:
        if len(path) == length:
            found[path] = score
            return
        for nxt in live:
            s = step_score(path[-1], nxt, tol)
            if nxt not in path and s is not None:
                walk((*path, nxt), score + s)

    walk(("seed",), 0.0)
    return found


def name(path: str | None) -> str:
    assert path is not None
    return path.rsplit("/", 1)[-1].removesuffix(".mp3")


def cli(args: list[str]) -> Any:
    from streams.cli.main import app

    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


async def test_mix_orders_by_key_relation_then_tempo(writers: Any) -> None:
    writer = await corpus_writer(writers)
    found = await queries.mix(writer.driver, writer.ns, fid("mix/seed.mp3"), 0.06, 10)
    names = [name(c.track.path) for c in found]
    assert names == ["g", "a", "b", "d", "c"]  # e: too fast, f/i: incompatible, h: deleted
    assert [(c.relation, c.ratio) for c in found] == [
        ("same", 2.0), ("same", 1.0), ("relative", 1.0), ("adjacent", 0.5), ("adjacent", 1.0)]
    for c, n in zip(found, names, strict=True):
        assert c.score == pytest.approx(step_score("seed", n, 0.06))
    out = await asyncio.to_thread(cli, ["query", "mix", fid("mix/seed.mp3"), "--json",
                                        "--bpm-tolerance", "1%", "--namespace", writer.ns])
    assert [name(c["track"]["path"]) for c in out["candidates"]] == ["g", "b", "d"]


async def test_playlist_is_a_best_valid_path_and_cli_agrees(writers: Any) -> None:
    writer = await corpus_writer(writers)
    for length in (3, 5, 7):
        scores = path_scores(length, 0.06)
        path = await queries.playlist(writer.driver, writer.ns, fid("mix/seed.mp3"), length, 0.06)
        names = ("seed", *(name(s.track.path) for s in path.steps))
        assert names in scores  # every step compatible, in tempo, no repeats
        assert path.score == pytest.approx(max(scores.values()))  # and no better path exists
    out = await asyncio.to_thread(cli, ["query", "playlist", "/music/mix/seed.mp3", "--length",
                                        "5", "--json", "--namespace", writer.ns])
    again = await queries.playlist(writer.driver, writer.ns, fid("mix/seed.mp3"), 5, 0.06)
    assert [t["track"]["file_id"] for t in out["tracks"]] == [fid("mix/seed.mp3"), *again.ids[1:]]
    assert out["score"] == pytest.approx(again.score)
