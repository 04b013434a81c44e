"""The Postgres projection against real Kafka and PostgreSQL: rows, restarts, a real outage
through the circuit breaker, and `query tracks` on a known corpus. Idempotency, replay and
checkpoint order are the writer contract's (test_writer_contract.py).

Every test writes into its own schema `t_<uid>...` and reads its own topics.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from infra.polling import poll_or_fail
from infra.settings import Settings
from projections.base import Positioned, ProjectionSpec
from projections.breaker import BreakerConfig
from projections.postgres.apply import PostgresProjector
from projections.postgres.writer import PostgresWriter, postgres_spec
from projections.runner import ProjectionRunner
from schemas.analysis_events import AnalysisCompleted, AnalysisFailed, AnalysisStarted, Features
from schemas.codec import AnyEvent, encode
from schemas.file_events import FileInfo, Tags
from tests import builders as build
from tests.builders import ROOT, Envelope, file_info
from tests.integration.kafka_utils import stack_service
from tests.unit.schemas.samples import FEATURES

SERVICES = ("kafka", "postgres")  # the conftest fails loudly if one is down
POLL_S = 0.05  # in-memory counters, cheap to read; the crash test must cancel mid-corpus

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 1, tzinfo=UTC)
READ_TABLES = {"tracks": "file_id", "analyses": "analysis_id", "failures": "file_id",
               "track_moves": "from_id, to_id"}
KEYS = [("A", "minor", "8A"), ("E", "minor", "9A"), ("C", "major", "8B"), ("D", "minor", "7A"),
        ("G", "minor", "6A"), ("A#", "minor", "3A"), ("F#", "major", "2B")]



def dsn(settings: Settings) -> str:
    return settings.database_url.replace("+asyncpg", "")


# ---------------------------------------------------------------- events

class Corpus:
    """Deterministic synthetic lifecycles of files; file events and analysis events apart."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def _id(self) -> str:
        return f"{self.rng.getrandbits(64):016x}"

    def _env(self, t: float) -> Envelope:
        return {"correlation_id": "corr", "occurred_at": T0 + timedelta(seconds=t),
                "event_id": self._id()}

    def info(self, rel: str, title: str = "T", artist: str = "Artist",
             content: str = "00") -> FileInfo:
        return file_info(rel, size=1000, mtime=0.0, content_hash=content,
                         tags=Tags(artist=artist, title=title, album="Album"))

    def discovered(self, rel: str, t: float, title: str = "T", artist: str = "Artist") -> Any:
        return build.discovered(self.info(rel, title, artist), **self._env(t))

    def modified(self, rel: str, t: float) -> Any:
        return build.modified(self.info(rel, "T2", content="11"), **self._env(t))

    def started(self, rel: str, t: float) -> Any:
        return build.started(self.info(rel), **self._env(t))

    def completed(self, rel: str, t: float, bpm: float | None = None,
                  key: tuple[str, str, str] | None = None,
                  confidence: float | None = None) -> Any:
        k, scale, camelot = key or self.rng.choice(KEYS)
        features = Features(**{**{f: getattr(FEATURES, f) for f in FEATURES.__struct_fields__},
                               "bpm": bpm or round(self.rng.uniform(90, 140), 2), "key": k,
                               "scale": scale, "camelot": camelot,
                               "bpm_confidence": confidence or FEATURES.bpm_confidence})
        env = self._env(t)  # before the analysis id: the seeded ids keep their old order
        return build.completed(self.info(rel), features, analysis_id=self._id(),
                               processing_ms=5.0, **env)

    def failed(self, rel: str, t: float, attempts: int = 1, reason: str = "corrupt") -> Any:
        return build.failed(self.info(rel), attempts=attempts, reason=reason,  # type: ignore[arg-type]
                            **self._env(t))

    def moved(self, old: str, new: str, t: float) -> Any:
        return build.moved(self.info(new), previous_rel=old, **self._env(t))

    def deleted(self, rel: str, t: float) -> Any:
        return build.deleted(self.info(rel), **self._env(t))

    def lifecycle(self, n: int) -> list[AnyEvent]:
        rng, rel, t = self.rng, f"lib/{n:05d}.mp3", self.rng.uniform(0, 1e6)
        out = [self.discovered(rel, t, title=f"title {n}", artist=f"artist {n % 37}")]
        stage = rng.random()  # < 0.1: still queued; < 0.15: being analysed; else done
        if stage >= 0.1:
            out.append(self.started(rel, t + 1))
        if stage >= 0.15:
            out.append(self.completed(rel, t + 2) if rng.random() < 0.75
                       else self.failed(rel, t + 2, attempts=rng.randint(1, 3)))
        if rng.random() < 0.2:
            out += [self.modified(rel, t + 3), self.started(rel, t + 4), self.completed(rel, t + 5)]
        if rng.random() < 0.1:
            out.append(self.moved(rel, f"moved/{n:05d}.mp3", t + 6))
        elif rng.random() < 0.05:
            out.append(self.deleted(rel, t + 7))
        return out

    def events(self, count: int) -> list[AnyEvent]:
        out: list[AnyEvent] = []
        n = 0
        while len(out) < count:
            out += self.lifecycle(n)
            n += 1
        return out[:count]


def is_file_event(event: AnyEvent) -> bool:
    return not isinstance(event, AnalysisStarted | AnalysisCompleted | AnalysisFailed)


@dataclass(frozen=True)
class Topics:
    files: str
    analysis: str

    def all(self) -> list[str]:
        return [self.files, self.analysis]


async def produce(settings: Settings, topics: Topics, events: list[AnyEvent],
                  raw: Sequence[bytes] = ()) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers,
                                acks="all", linger_ms=20, max_batch_size=256 * 1024)
    await producer.start()
    try:
        futures = [await producer.send(topics.files if is_file_event(e) else topics.analysis,
                                       encode(e), key=e.file_id.encode()) for e in events]
        futures += [await producer.send(topics.files, value) for value in raw]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


# ---------------------------------------------------------------- projection helpers

def runner_for(settings: Settings, schema: str, topics: Topics, group: str,
               **kwargs: Any) -> ProjectionRunner[Any]:
    return ProjectionRunner(postgres_spec(settings, schema), settings, topics.all(),
                            group_id=group, **kwargs)


async def project(settings: Settings, schema: str, topics: Topics, group: str,
                  **kwargs: Any) -> ProjectionRunner[Any]:
    runner = runner_for(settings, schema, topics, group, **kwargs)
    try:
        await runner.run_until_caught_up(timeout_s=60)
    finally:
        await runner.stop()
    return runner


async def dump(settings: Settings, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every read-model row, ordered; checkpoints are positions, not state, so left out."""
    conn = await asyncpg.connect(dsn(settings))
    try:
        return {t: [tuple(r) for r in await conn.fetch(f"SELECT * FROM {schema}.{t} ORDER BY {o}")]
                for t, o in READ_TABLES.items()}
    finally:
        await conn.close()


async def checkpoints(settings: Settings, schema: str) -> dict[tuple[str, int], int]:
    conn = await asyncpg.connect(dsn(settings))
    try:
        rows = await conn.fetch(
            f'SELECT topic, partition, "offset" FROM {schema}.projection_checkpoints')
    finally:
        await conn.close()
    return {(r["topic"], r["partition"]): r["offset"] for r in rows}


@pytest.fixture
async def schemas(settings: Settings, uid: str) -> AsyncIterator[Callable[[str], str]]:
    """Names schemas `t_<uid>_<label>` for this test and drops them afterwards."""
    names: list[str] = []

    def make(label: str) -> str:
        names.append(f"t_{uid}_{label}")
        return names[-1]

    yield make
    conn = await asyncpg.connect(dsn(settings))
    try:
        for name in names:
            await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    finally:
        await conn.close()


async def new_topics(kafka_topic: Callable[..., Any]) -> Topics:
    return Topics(await kafka_topic("files", 3), await kafka_topic("analysis", 3))


# ---------------------------------------------------------------- Kafka -> rows

async def test_known_events_become_rows_and_poison_is_skipped(
        settings: Settings, uid: str, kafka_topic: Callable[..., Any],
        schemas: Callable[[str], str]) -> None:
    topics, schema, c = await new_topics(kafka_topic), schemas("rows"), Corpus(1)
    moved_analysis = c.completed("c.mp3", 2, 100.0, KEYS[1])
    events = [
        c.discovered("a.mp3", 1, "One More Time", "Daft Punk"), c.started("a.mp3", 2),
        c.completed("a.mp3", 3, 123.0, KEYS[0]),
        c.discovered("b.mp3", 1), c.failed("b.mp3", 2), c.failed("b.mp3", 3, attempts=2),
        c.discovered("c.mp3", 1), moved_analysis, c.moved("c.mp3", "d.mp3", 3),
        c.discovered("e.mp3", 1), c.deleted("e.mp3", 2), c.discovered("q.mp3", 1),
    ]
    await produce(settings, topics, events, raw=[b"not json"])
    runner = await project(settings, schema, topics, f"test.pg.{uid}")

    conn = await asyncpg.connect(dsn(settings))
    try:
        rows = {r["path"]: r for r in await conn.fetch(f"SELECT * FROM {schema}.tracks")}
        failures = await conn.fetch(f"SELECT * FROM {schema}.failures")
        n_analyses = await conn.fetchval(f"SELECT count(*) FROM {schema}.analyses")
    finally:
        await conn.close()
    status = {path.removeprefix(ROOT + "/"): r["status"] for path, r in rows.items()}
    assert status == {"a.mp3": "analysed", "b.mp3": "failed", "c.mp3": "deleted",
                      "d.mp3": "analysed", "e.mp3": "deleted", "q.mp3": "queued"}
    a, d = rows[f"{ROOT}/a.mp3"], rows[f"{ROOT}/d.mp3"]
    assert (a["artist"], a["title"], a["bpm"], a["camelot"]) == ("Daft Punk", "One More Time",
                                                                  123.0, "8A")
    # The moved file carries the old id's analysis, whichever topic was read first.
    assert (d["current_analysis_id"], d["bpm"]) == (moved_analysis.payload.analysis_id, 100.0)
    assert [(f["path"], f["attempts"]) for f in failures] == [(f"{ROOT}/b.mp3", 2)]
    assert n_analyses == 2
    assert runner.skipped == 1 and runner.applied == len(events)
    stored = await checkpoints(settings, schema)
    assert sum(off + 1 for off in stored.values()) == len(events) + 1  # poison passed too
    assert REGISTRY.get_sample_value("projection_events_skipped_total",
                                     {"projection": "postgres", "reason": "malformed"})
    await _assert_kafka_offsets_committed(settings, f"test.pg.{uid}", stored)


async def test_the_old_paths_not_found_does_not_undo_the_moved_files_analysis(
        settings: Settings, uid: str, kafka_topic: Callable[..., Any],
        schemas: Callable[[str], str]) -> None:
    # A file moved before its discovery was analysed: the move is analysed under the new id
    # (g) and the discovery then fails at the old path (f). Before, that later failure was
    # copied along the move and g showed failed. A content failure (h) still travels.
    topics, schema, c = await new_topics(kafka_topic), schemas("movedaway"), Corpus(2)
    events = [c.discovered("f.mp3", 1), c.moved("f.mp3", "g.mp3", 2),
              c.completed("g.mp3", 3, 110.0, KEYS[2]), c.failed("f.mp3", 4, reason="not_found"),
              c.discovered("h.mp3", 1), c.failed("h.mp3", 2), c.moved("h.mp3", "i.mp3", 3)]
    await produce(settings, topics, events)
    await project(settings, schema, topics, f"test.pg.{uid}")
    conn = await asyncpg.connect(dsn(settings))
    try:
        rows = {r["path"].removeprefix(ROOT + "/"): (r["status"], r["bpm"])
                for r in await conn.fetch(f"SELECT * FROM {schema}.tracks")}
    finally:
        await conn.close()
    assert rows == {"f.mp3": ("deleted", None), "g.mp3": ("analysed", 110.0),
                    "h.mp3": ("deleted", None), "i.mp3": ("failed", None)}


async def _assert_kafka_offsets_committed(settings: Settings, group: str,
                                          stored: dict[tuple[str, int], int]) -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers,
                                group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        for (topic, partition), offset in stored.items():
            assert await consumer.committed(TopicPartition(topic, partition)) == offset + 1
    finally:
        await consumer.stop()


# ---------------------------------------------------------------- idempotency and restarts

CORPUS_SIZE = 10_000


@dataclass(frozen=True)
class Baseline:
    topics: Topics
    events: list[AnyEvent]
    state: dict[str, list[tuple[Any, ...]]]
    positions: dict[tuple[str, int], int]


@pytest.fixture(scope="module")
async def baseline(settings: Settings) -> AsyncIterator[Baseline]:
    """10,000 events fed once into a fresh schema: the state every other run must equal."""
    token = uuid.uuid4().hex[:10]
    topics = Topics(f"test.pg.files.{token}", f"test.pg.analysis.{token}")
    schema = f"t_{token}_base"
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    await admin.create_topics([NewTopic(t, 3, 1) for t in topics.all()])
    try:
        events = Corpus(seed=42).events(CORPUS_SIZE)
        await produce(settings, topics, events)
        await project(settings, schema, topics, f"test.pg.{token}.base")
        yield Baseline(topics, events, await dump(settings, schema),
                       await checkpoints(settings, schema))
    finally:
        conn = await asyncpg.connect(dsn(settings))
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.close()
        await admin.delete_topics(topics.all())
        await admin.close()


def test_baseline_covers_every_kind_of_row(baseline: Baseline) -> None:
    state = baseline.state
    statuses = {row[15] for row in state["tracks"]}  # the generated status column
    assert statuses == {"queued", "analysing", "analysed", "failed", "deleted"}
    completed = [e for e in baseline.events if isinstance(e, AnalysisCompleted)]
    assert len(state["analyses"]) == len(completed)
    assert state["failures"] and state["track_moves"]
    assert sum(off + 1 for off in baseline.positions.values()) == CORPUS_SIZE


async def test_cancelled_runner_restarts_to_the_same_state(
        settings: Settings, uid: str, baseline: Baseline, schemas: Callable[[str], str]) -> None:
    schema, group = schemas("crash"), f"test.pg.{uid}.crash"
    first = runner_for(settings, schema, baseline.topics, group, batch_size=100)
    task = asyncio.create_task(first.run())
    await poll_or_fail(lambda: first.applied >= 3000 or task.done(), 120, "3000 events applied",
                       interval_s=POLL_S)
    task.cancel()  # a crash: mid-batch, nothing finished or committed on the way out
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 3000 <= first.applied < CORPUS_SIZE
    assert len((await dump(settings, schema))["tracks"]) > 0

    second = await project(settings, schema, baseline.topics, group, batch_size=100)
    # Nothing durably written is applied again (a write cancelled mid-flight is redone).
    assert CORPUS_SIZE - first.applied - 100 <= second.applied <= CORPUS_SIZE - first.applied
    assert await dump(settings, schema) == baseline.state
    assert await checkpoints(settings, schema) == baseline.positions


# ---------------------------------------------------------------- a real outage

def breaker_gauge(dependency: str) -> float | None:
    return REGISTRY.get_sample_value("circuit_breaker_state", {"dependency": dependency})


async def test_breaker_opens_pauses_and_recovers_without_loss(
        settings: Settings, uid: str, kafka_topic: Callable[..., Any],
        schemas: Callable[[str], str]) -> None:
    """A real outage: the project's own PostgreSQL is stopped for a while, then started."""
    topics, schema, reference = await new_topics(kafka_topic), schemas("outage"), schemas("ref")
    events = Corpus(seed=3).events(3000)
    before, during = events[:1500], events[1500:]
    dependency = f"postgres-outage-{uid}"
    runner = ProjectionRunner(
        ProjectionSpec(PostgresProjector(), PostgresWriter(settings, schema), dependency),
        settings, topics.all(), group_id=f"test.pg.{uid}.outage", batch_size=200,
        breaker=BreakerConfig(fail_max=3, reset_timeout_s=1.5, retry_backoff_s=0.2))
    with capture_logs() as logs:
        task = asyncio.create_task(runner.run())
        await produce(settings, topics, before)
        await poll_or_fail(lambda: runner.applied == len(before), 60, "first half applied",
                           interval_s=POLL_S)
        written = await checkpoints(settings, schema)

        stack_service("down", "postgres")
        try:
            await produce(settings, topics, during)
            await poll_or_fail(lambda: runner.state == "open", 30, "breaker open",
                               interval_s=POLL_S)
            assert breaker_gauge(dependency) == 1.0
            assert runner.consumer.paused() == runner.consumer.assignment()
            await asyncio.sleep(4)  # stays down across at least one failed half-open trial
            assert runner.applied == len(before)  # the batch waits in memory, unwritten ...
            await _assert_kafka_offsets_at_most(runner, written)  # ... and uncommitted
        finally:
            stack_service("up", "postgres")
        await poll_or_fail(lambda: runner.applied == len(events), 60, "second half applied",
                           interval_s=POLL_S)
        assert runner.state == "closed" and breaker_gauge(dependency) == 0.0
        assert not runner.consumer.paused()
        await runner.stop()
        await task

    transitions = runner.breaker.transitions
    assert transitions[:3] == ["open", "half_open", "open"] and transitions[-2:] == [
        "half_open", "closed"]
    logged = [e["new"] for e in logs if e["event"] == "circuit_breaker_state_changed"]
    assert logged == transitions
    await project(settings, reference, topics, f"test.pg.{uid}.ref")
    assert await dump(settings, schema) == await dump(settings, reference)


async def _assert_kafka_offsets_at_most(runner: ProjectionRunner[Any],
                                        written: dict[tuple[str, int], int]) -> None:
    for tp in runner.consumer.assignment():
        committed = await runner.consumer.committed(tp)
        assert (committed or 0) <= written.get((tp.topic, tp.partition), -1) + 1


# ---------------------------------------------------------------- queries

@pytest.fixture(scope="module")
async def library(settings: Settings) -> AsyncIterator[str]:
    """A schema holding a small known library, written through projector and writer."""
    schema = f"t_{uuid.uuid4().hex[:10]}_library"
    c = Corpus(5)
    songs = [  # (file, artist, title, bpm, key); tempo confidence 0.82 but where noted
        ("1.mp3", "Daft Punk", "One More Time", 123.0, ("A", "minor", "8A")),
        ("2.mp3", "Deadmau5", "Strobe", 128.0, ("E", "minor", "9A")),  # 0.35
        ("3.mp3", "Bicep", "Glue", 130.0, ("C", "major", "8B")),  # 0.55
        ("4.mp3", "Four Tet", "Two Thousand and Seventeen", 120.0, ("G", "minor", "6A")),
        ("5.mp3", "Caribou", "Can't Do Without You", 124.0, ("A#", "minor", "3A")),
        ("6.mp3", "Floating Points", "Silhouettes", 125.0, ("D", "minor", "7A")),
        ("7.mp3", "Daft Punk", "Aerodynamic", 123.0, ("A", "minor", "8A")),
    ]
    events: list[AnyEvent] = []
    for i, (rel, artist, title, bpm, key) in enumerate(songs):
        confidence = {"Strobe": 0.35, "Glue": 0.55}.get(title)
        events += [c.discovered(rel, i, title, artist),
                   c.completed(rel, i + 10, bpm, key, confidence)]
    events += [c.deleted("7.mp3", 50), c.discovered("8.mp3", 1, "Corrupt File", "Broken"),
               c.failed("8.mp3", 2), c.discovered("9.mp3", 1, "Waiting", "Queue")]
    writer = PostgresWriter(settings, schema)
    await writer.setup()
    from projections.base import Positioned

    batch = [Positioned(e, "t", 0, i) for i, e in enumerate(events)]
    await writer.write("postgres", PostgresProjector().apply(batch), {("t", 0): len(batch) - 1})
    try:
        yield schema
    finally:
        async with writer.engine.begin() as conn:
            from sqlalchemy import text

            await conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        await writer.close()


async def titles(settings: Settings, schema: str, **options: Any) -> list[str]:
    from projections.postgres.schema import build_tables
    from projections.reads import track_query

    args = {"key": None, "compatible_with": None, "bpm": None, "search": None,
            "status": None, "limit": 50, **options}
    writer = PostgresWriter(settings, schema)
    try:
        async with writer.engine.connect() as conn:
            from projections.postgres.queries import search_tracks

            rows = await search_tracks(conn, build_tables(schema), track_query(**args))
    finally:
        await writer.close()
    return [r["title"] for r in rows]


@pytest.mark.parametrize(("options", "expected"), [
    ({"key": "8A"}, ["One More Time"]),  # the deleted 8A track is hidden by default
    ({"key": "Am", "bpm": "120..128"}, ["One More Time"]),
    ({"key": "A minor", "bpm": "124..130"}, []),
    ({"key": "Bbm"}, ["Can't Do Without You"]),  # stored as A#: enharmonic spellings match
    ({"compatible_with": "8A"}, ["Glue", "One More Time", "Strobe", "Silhouettes"]),
    ({"compatible_with": "8A", "bpm": "120..126"}, ["One More Time", "Silhouettes"]),
    ({"bpm": "124..128"}, ["Can't Do Without You", "Strobe", "Silhouettes"]),
    ({"search": "daft pnk"}, ["One More Time"]),
    ({"search": "strobe"}, ["Strobe"]),
    ({"search": "thousand"}, ["Two Thousand and Seventeen"]),
    ({"status": "failed"}, ["Corrupt File"]),
    ({"status": "deleted"}, ["Aerodynamic"]),
    ({"status": "queued"}, ["Waiting"]),
    ({"compatible_with": "8A", "limit": 2}, ["Glue", "One More Time"]),
    # Unanalysed (failed, queued) tracks have no confidence and drop out too.
    ({"min_confidence": "0.6"}, ["Can't Do Without You", "One More Time", "Silhouettes",
                                 "Two Thousand and Seventeen"]),
    ({"min_confidence": 0.5, "compatible_with": "8A"}, ["Glue", "One More Time",
                                                        "Silhouettes"]),
    ({"min_confidence": "0.35", "bpm": "128"}, ["Strobe"]),  # the bound is inclusive
    ({"min_confidence": "0.36", "bpm": "128"}, []),
])
async def test_query_tracks_on_a_known_library(settings: Settings, library: str,
                                               options: dict[str, Any],
                                               expected: list[str]) -> None:
    assert await titles(settings, library, **options) == expected


@pytest.mark.parametrize(("search", "offset", "expected_total", "expected"), [
    ("daft pnk", 0, 1, ["One More Time"]),  # no substring match: the fuzzy one-scan path
    ("daft pnk", 50, 1, []),  # past the end: the total still comes from a count
    ("strobe", 0, 1, ["Strobe"]),  # substring match
])
async def test_library_page_counts_and_pages_fuzzy_matches(
        settings: Settings, library: str, search: str, offset: int, expected_total: int,
        expected: list[str]) -> None:
    from projections.postgres.queries import library_page
    from projections.postgres.schema import build_tables
    from projections.reads import track_query

    query = track_query(None, None, None, search, None, 50)
    writer = PostgresWriter(settings, library)
    try:
        async with writer.engine.connect() as conn:
            total, rows = await library_page(conn, build_tables(library), query, offset=offset)
    finally:
        await writer.close()
    assert (total, [r["title"] for r in rows]) == (expected_total, expected)


async def test_query_all_statuses_lists_everything(settings: Settings, library: str) -> None:
    assert len(await titles(settings, library, status="all")) == 9


def test_query_cli_prints_json_csv_and_table(library: str) -> None:
    import json

    from typer.testing import CliRunner

    from streams.cli.query_cmd import app

    cli = CliRunner()
    as_json = cli.invoke(app, ["tracks", "--schema", library, "--compatible-with", "8A",
                               "--bpm", "120..126", "--json"])
    assert as_json.exit_code == 0, as_json.output
    rows = json.loads(as_json.stdout)
    assert [(r["artist"], r["camelot"], r["bpm"]) for r in rows] == [
        ("Daft Punk", "8A", 123.0), ("Floating Points", "7A", 125.0)]
    assert {(r["bpm_confidence"], r["key_strength"], r["tuning_cents"]) for r in rows} == {
        (FEATURES.bpm_confidence, FEATURES.key_strength, FEATURES.tuning_cents)}
    assert {(r["first_beat_s"], r["grid_confidence"], r["downbeat_s"], r["beats_per_bar"])
            for r in rows} == {(FEATURES.first_beat_s, FEATURES.grid_confidence,
                                FEATURES.downbeat_s, FEATURES.beats_per_bar)}
    confident = cli.invoke(app, ["tracks", "--schema", library, "--min-confidence", "0.5",
                                 "--compatible-with", "8A", "--json"])
    assert confident.exit_code == 0, confident.output
    assert [r["title"] for r in json.loads(confident.stdout)] == [
        "Glue", "One More Time", "Silhouettes"]
    out_of_range = cli.invoke(app, ["tracks", "--schema", library, "--min-confidence", "2"])
    assert out_of_range.exit_code != 0
    as_csv = cli.invoke(app, ["tracks", "--schema", library, "--key", "9A", "--csv"])
    assert as_csv.stdout.splitlines()[0].startswith("file_id,artist,title,album,bpm")
    assert "Strobe" in as_csv.stdout.splitlines()[1]
    table = cli.invoke(app, ["tracks", "--schema", library, "--status", "failed"])
    assert table.exit_code == 0 and "Broken" in table.stdout
    tuned = cli.invoke(app, ["tracks", "--schema", library, "--key", "8A"])
    assert tuned.exit_code == 0 and "cents" in tuned.stdout and " -12 " in tuned.stdout
    assert " 0.82 " in tuned.stdout and " Am " in tuned.stdout  # confidence; key and scale
    bad = cli.invoke(app, ["tracks", "--schema", library, "--key", "H#"])
    assert bad.exit_code != 0


async def test_migrations_create_exactly_the_declared_tables(
        settings: Settings, schemas: Callable[[str], str]) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    schema = schemas("migrations")
    writer = PostgresWriter(settings, schema)
    await writer.setup()
    await writer.setup()  # idempotent

    def diff(sync_conn: Any) -> list[Any]:
        def ours(name: str | None, kind: str, parent: Any) -> bool:
            return name == schema if kind == "schema" else name != "alembic_version"

        ctx = MigrationContext.configure(sync_conn, opts={
            "include_schemas": True, "include_name": ours, "compare_type": True})
        return list(compare_metadata(ctx, writer.tables.metadata))

    try:
        async with writer.engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await writer.close()


async def test_migration_0002_adds_tuning_and_backfills_confidences(
        settings: Settings, schemas: Callable[[str], str]) -> None:
    """A read model written before 0002 keeps its rows; tracks get their current analysis'
    confidences, and tuning stays unknown (NULL) until a v2 analysis arrives."""
    from sqlalchemy import text

    from projections.postgres.migrate import upgrade_on

    schema = schemas("upgrade")
    writer = PostgresWriter(settings, schema)
    try:
        async with writer.engine.begin() as conn:
            await conn.run_sync(upgrade_on, schema, "0001_initial")
            await conn.execute(text(
                f"INSERT INTO {schema}.tracks (file_id, created_at, current_analysis_id, bpm) "
                "VALUES ('f1', now(), 'an-1', 124.0), ('f2', now(), NULL, NULL)"))
            await conn.execute(text(
                f"INSERT INTO {schema}.analyses (analysis_id, file_id, event_id, occurred_at, "
                "bpm, bpm_confidence, key_strength, analyzer_version) "
                "VALUES ('an-0', 'f1', 'e0', now(), 120, 0.1, 0.2, 1), "
                "('an-1', 'f1', 'e1', now(), 124, 0.7, 0.6, 1)"))
        await writer.setup()  # to head
        async with writer.engine.connect() as conn:
            tracks = (await conn.execute(text(
                f"SELECT file_id, bpm_confidence, key_strength, tuning_cents "
                f"FROM {schema}.tracks ORDER BY file_id"))).all()
            tuning = (await conn.execute(text(
                f"SELECT tuning_cents FROM {schema}.analyses"))).scalars().all()
        assert [tuple(r) for r in tracks] == [("f1", 0.7, 0.6, None), ("f2", None, None, None)]
        assert tuning == [None, None]
    finally:
        await writer.close()


async def test_migration_0003_adds_an_unknown_beat_grid(
        settings: Settings, schemas: Callable[[str], str]) -> None:
    """A read model at 0002 keeps its rows; their grid is unknown (NULL) until a v3
    analysis arrives, and the projection then fills it on tracks and analyses."""
    from sqlalchemy import text

    from projections.postgres.migrate import upgrade_on

    schema = schemas("grid")
    writer = PostgresWriter(settings, schema)
    grid = "first_beat_s, grid_confidence, downbeat_s, beats_per_bar"
    try:
        async with writer.engine.begin() as conn:
            await conn.run_sync(upgrade_on, schema, "0002_tuning_and_confidence")
            await conn.execute(text(
                f"INSERT INTO {schema}.tracks (file_id, created_at, bpm) "
                "VALUES ('f1', now(), 124.0)"))
            await conn.execute(text(
                f"INSERT INTO {schema}.analyses (analysis_id, file_id, event_id, occurred_at, "
                "bpm) VALUES ('an-1', 'f1', 'e1', now(), 124)"))
        await writer.setup()  # to head
        corpus = Corpus(3)
        done = corpus.completed("lib/new.mp3", 10.0)
        await writer.write("postgres", PostgresProjector().apply([Positioned(done, "t", 0, 0)]),
                           {})
        async with writer.engine.connect() as conn:
            tracks = (await conn.execute(text(
                f"SELECT file_id, bpm, {grid} FROM {schema}.tracks ORDER BY bpm"))).all()
            history = (await conn.execute(text(
                f"SELECT analysis_id, {grid} FROM {schema}.analyses "
                "ORDER BY analysis_id = 'an-1'"))).all()
        expected = (FEATURES.first_beat_s, FEATURES.grid_confidence, FEATURES.downbeat_s,
                    FEATURES.beats_per_bar)
        old = {r.file_id: tuple(r)[2:] for r in tracks}
        assert old.pop("f1") == (None, None, None, None)
        assert list(old.values()) == [expected]
        assert [tuple(r)[1:] for r in history] == [expected, (None, None, None, None)]
    finally:
        await writer.close()


def test_query_failed_tracks_shows_reason_and_message_in_every_format(library: str) -> None:
    import csv
    import io
    import json

    from typer.testing import CliRunner

    from streams.cli.query_cmd import app

    cli = CliRunner()
    base = ["tracks", "--schema", library, "--status", "failed"]
    as_json = cli.invoke(app, [*base, "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert [(r["title"], r["failure_reason"], r["failure_message"])
            for r in json.loads(as_json.stdout)] == [("Corrupt File", "corrupt", "bad")]
    as_csv = cli.invoke(app, [*base, "--csv"])
    (row,) = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert (row["failure_reason"], row["failure_message"]) == ("corrupt", "bad")
    table = cli.invoke(app, base, env={"COLUMNS": "80"})
    line = next(li for li in table.stdout.splitlines() if "Corrupt File" in li)
    assert line.split()[-2:] == ["corrupt", "bad"], table.stdout
    # Tracks that did not fail carry no failure fields' values.
    everything = json.loads(cli.invoke(app, ["tracks", "--schema", library, "--json"]).stdout)
    assert {r["failure_reason"] for r in everything if r["status"] != "failed"} == {None}
