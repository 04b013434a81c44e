"""Read side of the Neo4j graph: harmonic-mix candidates, beam-searched playlists, graph dumps.

Compatibility comes from the COMPATIBLE edges between Key nodes; tempo is compared against
the seed's BPM, half and double (64 BPM mixes with 128), as a relative difference.
Scores: 3 (same key) / 2 (relative) / 1 (adjacent) plus 1 - tempo_diff / tolerance, so the
key relation always dominates and tempo closeness orders within it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from neo4j import AsyncDriver

from projections.neo4j.cypher import UNIQUE_KEYS
from projections.neo4j.writer import DEFAULT_DATABASE

_TRACK_FIELDS = ".file_id, .path, .title, .artist, .bpm, .camelot, .key, .scale, .energy"

FIND_TRACK = f"""
OPTIONAL MATCH (byid:Track {{ns: $ns, file_id: $ref}})
OPTIONAL MATCH (bypath:Track {{ns: $ns, path: $ref}})
WITH coalesce(byid, bypath) AS t WHERE t IS NOT NULL AND NOT t.deleted
RETURN t{{{_TRACK_FIELDS}}} AS track
"""

# Candidates come from the composite index (ns, camelot, bpm): one range seek per compatible
# key and tempo window, instead of expanding a Key node's N/24 incoming IN_KEY edges and
# filtering on tempo. The windows are disjoint while the tolerance stays below 1/3.
NEIGHBOURS = f"""
UNWIND $seeds AS seed
MATCH (s:Track {{ns: $ns, file_id: seed}})-[:IN_KEY]->(:Key)-[c:COMPATIBLE]->(k:Key)
WHERE s.bpm IS NOT NULL AND NOT s.deleted
UNWIND [0.5, 1.0, 2.0] AS m
MATCH (t:Track)
USING INDEX t:Track(ns, camelot, bpm)
WHERE t.ns = $ns AND t.camelot = k.camelot
  AND t.bpm >= s.bpm * m * (1 - $tol) AND t.bpm <= s.bpm * m * (1 + $tol)
  AND t <> s AND NOT t.deleted
WITH seed, t, c, m, abs(t.bpm / (s.bpm * m) - 1.0) AS d
WITH seed, t, c, m, d,
     (3 - c.rank) + CASE WHEN $tol > 0 THEN 1.0 - d / $tol ELSE 1.0 END AS score
ORDER BY seed, score DESC, t.file_id
WITH seed, collect({{t: t, relation: c.relation, ratio: m, tempo_diff: d,
                    score: score}})[..$limit] AS top
UNWIND top AS x
WITH seed, x, x.t AS t
RETURN seed, collect({{track: t{{{_TRACK_FIELDS}}}, relation: x.relation, ratio: x.ratio,
                      tempo_diff: x.tempo_diff, score: x.score}}) AS found
"""
MAX_TOLERANCE = 0.3


@dataclass(frozen=True)
class Track:
    file_id: str
    path: str | None
    title: str | None
    artist: str | None
    bpm: float | None
    camelot: str | None
    key: str | None
    scale: str | None
    energy: float | None


@dataclass(frozen=True)
class Candidate:
    """A track that mixes with the seed: how (relation, tempo ratio) and how well (score)."""

    track: Track
    relation: str
    ratio: float  # candidate BPM ≈ seed BPM * ratio (0.5, 1 or 2)
    tempo_diff: float  # relative, after the ratio
    score: float


async def find_track(driver: AsyncDriver, ns: str, ref: str,
                     database: str = DEFAULT_DATABASE) -> Track | None:
    """The live track with file_id `ref`, or else with path `ref`."""
    records, _, _ = await driver.execute_query(FIND_TRACK, {"ns": ns, "ref": ref},
                                               database_=database)
    return Track(**records[0]["track"]) if records else None


async def neighbours(driver: AsyncDriver, ns: str, seeds: Sequence[str], tolerance: float,
                     limit: int, database: str = DEFAULT_DATABASE) -> dict[str, list[Candidate]]:
    """Best `limit` candidates for each seed, in score order (ties by file_id)."""
    if not 0 <= tolerance <= MAX_TOLERANCE:
        raise ValueError(f"tempo tolerance must be between 0 and {MAX_TOLERANCE}")
    records, _, _ = await driver.execute_query(
        NEIGHBOURS, {"ns": ns, "seeds": list(seeds), "tol": tolerance, "limit": limit},
        database_=database)
    found: dict[str, list[Candidate]] = {s: [] for s in seeds}
    for record in records:
        # Track maps are built after the top-N cut; collect() does not promise to keep order.
        ranked = sorted(record["found"], key=lambda c: (-c["score"], c["track"]["file_id"]))
        found[record["seed"]] = [_candidate(c) for c in ranked]
    return found


def _candidate(raw: dict[str, Any]) -> Candidate:
    return Candidate(track=Track(**raw["track"]), relation=raw["relation"], ratio=raw["ratio"],
                     tempo_diff=raw["tempo_diff"], score=raw["score"])


async def mix(driver: AsyncDriver, ns: str, seed: str, tolerance: float, limit: int,
              database: str = DEFAULT_DATABASE) -> list[Candidate]:
    return (await neighbours(driver, ns, [seed], tolerance, limit, database))[seed]


@dataclass(frozen=True)
class Path:
    """A partial playlist: seed first; `steps[i]` is how track i+1 follows track i."""

    ids: tuple[str, ...]
    steps: tuple[Candidate, ...]
    score: float

    def extend(self, step: Candidate) -> Path:
        return Path((*self.ids, step.track.file_id), (*self.steps, step),
                    self.score + step.score)


def extend_beam(beam: Sequence[Path], found: dict[str, list[Candidate]], width: int,
                fanout: int) -> list[Path]:
    """Next beam: each path grown by its `fanout` best unvisited neighbours, best `width` kept.

    Pure and deterministic: ties in total score go to the lexicographically smaller path.
    """
    grown: list[Path] = []
    for path in beam:
        fresh = [c for c in found.get(path.ids[-1], []) if c.track.file_id not in path.ids]
        grown.extend(path.extend(c) for c in fresh[:fanout])
    grown.sort(key=lambda p: (-p.score, p.ids))
    return grown[:width]


async def playlist(driver: AsyncDriver, ns: str, seed: str, length: int, tolerance: float, *,
                   width: int = 8, fanout: int = 6,
                   database: str = DEFAULT_DATABASE) -> Path:
    """A harmonic path of up to `length` tracks from `seed`, no repeats (beam search).

    Every step is key-compatible and within `tolerance` of the previous track's tempo.
    Shorter than `length` only if no path that long exists within the beam.
    """
    beam = [Path((seed,), (), 0.0)]
    for step in range(1, length):
        ends = sorted({p.ids[-1] for p in beam})
        # Fetch enough that `fanout` remain after dropping tracks already on the path.
        found = await neighbours(driver, ns, ends, tolerance, fanout + step, database)
        grown = extend_beam(beam, found, width, fanout)
        if not grown:
            break
        beam = grown
    return beam[0]


# --- dumps: the whole namespace as comparable plain data (replay and idempotency tests) ----

_KEY_PROPS = {label: props[1:] for _, label, props in UNIQUE_KEYS}

DUMP_NODES = """
MATCH (n) WHERE n.ns = $ns AND NOT n:ProjectionCheckpoint
RETURN labels(n)[0] AS label, properties(n) AS props
"""
DUMP_EDGES = """
MATCH (a)-[r]->(b) WHERE a.ns = $ns
RETURN labels(a)[0] AS la, properties(a) AS pa, type(r) AS type, properties(r) AS pr,
       labels(b)[0] AS lb, properties(b) AS pb
"""


def _plain(value: Any) -> Any:
    # neo4j temporal types print differently from datetime; ISO text compares cleanly.
    return value.iso_format() if hasattr(value, "iso_format") else value


def _node_key(label: str, props: dict[str, Any]) -> str:
    return label + ":" + "|".join(str(props.get(p)) for p in _KEY_PROPS.get(label, ()))


async def dump_namespace(driver: AsyncDriver, ns: str,
                         database: str = DEFAULT_DATABASE) -> dict[str, list[Any]]:
    """Sorted nodes (without `ns`) and edges (by natural node keys) of one namespace."""
    nodes, _, _ = await driver.execute_query(DUMP_NODES, {"ns": ns}, database_=database)
    edges, _, _ = await driver.execute_query(DUMP_EDGES, {"ns": ns}, database_=database)
    node_rows = sorted(
        (_node_key(r["label"], r["props"]),
         sorted((k, _plain(v)) for k, v in r["props"].items() if k != "ns"))
        for r in nodes)
    edge_rows = sorted(
        (_node_key(r["la"], r["pa"]), r["type"], _node_key(r["lb"], r["pb"]),
         sorted(r["pr"].items()))
        for r in edges)
    return {"nodes": [list(n) for n in node_rows], "edges": [list(e) for e in edge_rows]}
