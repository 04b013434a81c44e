"""Neo4j writer: schema setup, batched `UNWIND ... MERGE` writes and checkpoints in one transaction.

Every node carries `ns` (namespace, default "live"): tests and side-by-side rebuilds use
their own namespace in the same database (Community Edition has only one), and every
uniqueness constraint is composite with `ns` first.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict
from typing import Any, LiteralString

from neo4j import AsyncDriver, AsyncGraphDatabase, AsyncManagedTransaction
from neo4j.exceptions import ClientError

from infra.settings import Settings
from projections.base import Checkpoints, ProjectionSpec
from projections.neo4j import cypher
from projections.neo4j.apply import GraphIntents, Neo4jProjector
from projections.neo4j.camelot import RELATION_RANK, all_compatibilities, all_keys
from schemas.namespace import LIVE

DEFAULT_NS = LIVE.neo4j_ns
DEFAULT_DATABASE = "neo4j"
# Rows per UNWIND statement: large enough to amortise a round trip, small enough that one
# statement's parameters and state stay a few MB.
CHUNK_ROWS = 5000
_RACED_SCHEMA = "Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists"


def connect(settings: Settings) -> AsyncDriver:
    # The driver retries a failing transaction for 30 s by default; that would hide an outage
    # from the circuit breaker (one write hanging for the whole outage). Fail within a few
    # seconds instead and let the breaker pause the projection and probe for recovery.
    # Server notifications ("property title does not exist" while no track has a title yet)
    # are hints for query authors; the driver would log each one as a warning, which the
    # CLI showed users as raw JSON lines. Our queries are tested; turn them off.
    return AsyncGraphDatabase.driver(settings.neo4j_uri,
                                     auth=(settings.neo4j_user, settings.neo4j_password),
                                     max_transaction_retry_time=3.0, connection_timeout=3.0,
                                     notifications_min_severity="OFF")


def _chunks(rows: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(rows), size):
        yield list(rows[start:start + size])


def key_wheel_params() -> dict[str, Any]:
    keys = [asdict(k) for k in all_keys()]
    edges = [{"src": c.src, "dst": c.dst, "relation": c.relation,
              "rank": RELATION_RANK[c.relation]} for c in all_compatibilities()]
    return {"keys": keys, "edges": edges}


class Neo4jWriter:
    """Writes `GraphIntents` and checkpoints of one namespace; safe to replay (see docs)."""

    def __init__(self, settings: Settings, ns: str = DEFAULT_NS, *,
                 database: str = DEFAULT_DATABASE, chunk_rows: int = CHUNK_ROWS,
                 driver: AsyncDriver | None = None) -> None:
        self.ns = ns
        self.database = database
        self.chunk_rows = chunk_rows
        self._owns_driver = driver is None
        self.driver = driver or connect(settings)

    async def setup(self) -> None:
        """Constraints and indexes (idempotent), then this namespace's 24 keys and their edges."""
        for name, label, props in cypher.UNIQUE_KEYS:
            await self._schema(cypher.unique_constraint(name, label, props))
        for statement in cypher.INDEXES:
            await self._schema(statement)
        await self._schema("CALL db.awaitIndexes(300)")
        await self.driver.execute_query(cypher.SEED_KEYS, {"ns": self.ns, **key_wheel_params()},
                                        database_=self.database)

    async def _schema(self, statement: str) -> None:
        try:
            await self.driver.execute_query(statement, database_=self.database)
        except ClientError as exc:
            # Two writers starting together can race past IF NOT EXISTS; the rule exists.
            if exc.code != _RACED_SCHEMA:
                raise

    async def load_checkpoints(self, projection: str) -> Checkpoints:
        records, _, _ = await self.driver.execute_query(
            cypher.LOAD_CHECKPOINTS, {"ns": self.ns, "projection": projection},
            database_=self.database)
        return {(r["topic"], r["partition"]): r["offset"] for r in records}

    async def write(self, projection: str, intents: GraphIntents,
                    checkpoints: Checkpoints) -> None:
        """Apply one batch and advance its checkpoints atomically (one transaction)."""
        rows = [{"topic": t, "partition": p, "offset": o}
                for (t, p), o in sorted(checkpoints.items())]
        if intents.empty and not rows:
            return
        async with self.driver.session(database=self.database) as session:
            await session.execute_write(self._write_tx, projection, intents, rows)

    async def _write_tx(self, tx: AsyncManagedTransaction, projection: str,
                        intents: GraphIntents, checkpoint_rows: list[dict[str, Any]]) -> None:
        # The three upserts could run in any order: each is last-writer-wins, and analysis
        # propagates along moves from both sides. Edge sync must follow them.
        tags: set[str] = set()
        music: set[str] = set()
        for query, rows in ((cypher.UPSERT_FILES, intents.files),
                            (cypher.UPSERT_ANALYSES, intents.analyses),
                            (cypher.LINK_MOVES, intents.moves)):
            await self._run_rows(tx, query, rows, tags, music)
        # Edges are re-derived only where a write won, and only the kind that can have changed.
        for query, ids in ((cypher.SYNC_TAGS, tags), (cypher.SYNC_MUSIC, music)):
            for chunk in _chunks(sorted(ids), self.chunk_rows):
                await (await tx.run(query, ns=self.ns, ids=chunk)).consume()
        if checkpoint_rows:
            result = await tx.run(cypher.SAVE_CHECKPOINTS, ns=self.ns, projection=projection,
                                  rows=checkpoint_rows)
            await result.consume()

    async def _run_rows(self, tx: AsyncManagedTransaction, query: LiteralString,
                        rows: Sequence[Any], tags: set[str], music: set[str]) -> None:
        """Run `query` over `rows` in chunks; add the ids it reports to `tags` and `music`."""
        for chunk in _chunks(rows, self.chunk_rows):
            result = await tx.run(query, ns=self.ns, rows=chunk)
            record = await result.single()
            await result.consume()
            if record is None:
                continue
            tags.update(record.get("tags") or ())
            music.update(record.get("music") or ())
            for ids in record.get("moved") or ():
                music.update(ids)

    async def reset(self, projection: str) -> None:
        """Drop this namespace (read model and checkpoints), then re-seed the key wheel.

        The namespace holds only this projection, so `projection` needs no filtering.
        """
        await self.drop_namespace()
        await self.setup()

    async def drop_namespace(self) -> None:
        """Delete every node of this namespace in committed batches (tests clean up with it)."""
        async with self.driver.session(database=self.database) as session:
            for label in cypher.LABELS:
                result = await session.run(cypher.DELETE_LABEL_IN_NS.format(label=label),
                                           ns=self.ns)
                await result.consume()

    async def ping(self) -> None:
        await self.driver.verify_connectivity()

    async def close(self) -> None:
        if self._owns_driver:
            await self.driver.close()


def neo4j_spec(settings: Settings, ns: str = DEFAULT_NS) -> ProjectionSpec[GraphIntents]:
    """The Neo4j projection, ready for the runner."""
    return ProjectionSpec(projector=Neo4jProjector(), writer=Neo4jWriter(settings, ns),
                          dependency="neo4j")
