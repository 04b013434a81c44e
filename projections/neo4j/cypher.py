"""Cypher text of the Neo4j projection: schema, per-kind UNWIND batches, edge sync, checkpoints.

Every statement takes its data as parameters (`$ns`, `$rows`, `$ids`): the text is constant,
so Neo4j plans each statement once and reuses the cached plan for every batch.
"""

from __future__ import annotations

from schemas.status import TrackStatus

# (name, label, properties): uniqueness is per namespace, so `ns` leads every key.
UNIQUE_KEYS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("tt_track_key", "Track", ("ns", "file_id")),
    ("tt_artist_key", "Artist", ("ns", "name")),
    ("tt_album_key", "Album", ("ns", "artist", "name")),
    ("tt_genre_key", "Genre", ("ns", "name")),
    ("tt_key_key", "Key", ("ns", "camelot")),
    ("tt_tempo_key", "TempoBucket", ("ns", "bpm_floor")),
    ("tt_checkpoint_key", "ProjectionCheckpoint", ("ns", "projection", "topic", "partition")),
)
LABELS: tuple[str, ...] = tuple(label for _, label, _ in UNIQUE_KEYS)


def unique_constraint(name: str, label: str, props: tuple[str, ...]) -> str:
    keys = ", ".join(f"n.{p}" for p in props)
    return f"CREATE CONSTRAINT {name} IF NOT EXISTS FOR (n:{label}) REQUIRE ({keys}) IS UNIQUE"


INDEXES: tuple[str, ...] = (
    # Looking a track up by path (CLI argument) must not scan every track.
    "CREATE INDEX tt_track_path IF NOT EXISTS FOR (t:Track) ON (t.ns, t.path)",
    # Mix candidates: equality on key, range on tempo (see queries.NEIGHBOURS).
    "CREATE INDEX tt_track_mix IF NOT EXISTS FOR (t:Track) ON (t.ns, t.camelot, t.bpm)",
)

SEED_KEYS = """
UNWIND $keys AS k
MERGE (n:Key {ns: $ns, camelot: k.camelot})
SET n.name = k.name, n.scale = k.scale
WITH count(*) AS _
UNWIND $edges AS e
MATCH (a:Key {ns: $ns, camelot: e.src}), (b:Key {ns: $ns, camelot: e.dst})
MERGE (a)-[c:COMPATIBLE]->(b)
SET c.relation = e.relation, c.rank = e.rank
"""

FEATURE_KEYS = ("bpm", "key", "scale", "camelot", "energy", "danceability", "bpm_confidence",
                "key_strength", "tuning_cents", "first_beat_s", "grid_confidence", "downbeat_s",
                "beats_per_bar", "analyzer_version", "tempo_bucket", "features_stamp")


def _status(var: str) -> str:
    return (f"SET {var}.status = CASE WHEN {var}.deleted THEN '{TrackStatus.DELETED}' "
            f"ELSE coalesce({var}.analysis_state, '{TrackStatus.QUEUED}') END")


# last_event_* follow the newest event of the track itself, whichever aspect it touched.
_LAST_EVENT = """
SET t += CASE WHEN t.last_stamp IS NULL OR r.stamp > t.last_stamp
              THEN {last_stamp: r.stamp, last_event_at: r.at, last_event_id: r.event_id}
              ELSE {} END
"""

# A moved file gets a new id; its analysis follows it along MOVED_TO edges, last-writer-wins,
# whichever of the move and the analysis is read first (so replay order does not matter).
# A not_found failure of the old id (its path is gone) stays behind.
# Yields `moved`: the ids whose features may have changed.
_PROPAGATE = f"""
CALL (t) {{
  OPTIONAL MATCH (t)-[:MOVED_TO*1..10]->(d:Track)
  WITH DISTINCT t, d WHERE d IS NOT NULL AND d <> t
  SET d += CASE WHEN t.analysis_stamp IS NOT NULL AND NOT coalesce(t.analysis_path_gone, false)
                 AND (d.analysis_stamp IS NULL OR t.analysis_stamp > d.analysis_stamp)
                THEN t{{.analysis_state, .analysis_stamp}} ELSE {{}} END
  SET d += CASE WHEN t.features_stamp IS NOT NULL
                 AND (d.features_stamp IS NULL OR t.features_stamp > d.features_stamp)
                THEN t{{{", ".join("." + k for k in FEATURE_KEYS)}}} ELSE {{}} END
  {_status("d")}
  RETURN collect(d.file_id) AS moved
}}
"""

# Each upsert returns which tracks need their edges re-derived: `tags` (BY/ON/IN_GENRE)
# and `music` (IN_KEY/IN_TEMPO, nested lists allowed); rows that lost need nothing.
UPSERT_FILES = f"""
UNWIND $rows AS r
MERGE (t:Track {{ns: $ns, file_id: r.file_id}})
ON CREATE SET t.deleted = false
WITH t, r, t.deleted AS was_deleted
WHERE t.file_stamp IS NULL OR r.stamp > t.file_stamp
SET t += r.props
{_status("t")}
{_LAST_EVENT}
RETURN collect(t.file_id) AS tags,
       collect(CASE WHEN t.deleted <> was_deleted THEN t.file_id END) AS music
"""

UPSERT_ANALYSES = f"""
UNWIND $rows AS r
MERGE (t:Track {{ns: $ns, file_id: r.file_id}})
ON CREATE SET t.deleted = false
WITH t, r, (t.analysis_stamp IS NULL OR r.stamp > t.analysis_stamp) AS wins,
     (r.features IS NOT NULL AND (t.features_stamp IS NULL
                                  OR r.features.features_stamp > t.features_stamp)) AS won
SET t += CASE WHEN wins THEN {{analysis_state: r.state, analysis_stamp: r.stamp,
                              analysis_path_gone: r.path_gone,
                              path: CASE WHEN t.file_stamp IS NULL THEN r.path ELSE t.path END}}
              ELSE {{}} END
SET t += CASE WHEN won THEN r.features ELSE {{}} END
{_status("t")}
{_LAST_EVENT}
WITH t, won
{_PROPAGATE}
RETURN collect(CASE WHEN won THEN t.file_id END) AS music, collect(moved) AS moved
"""

LINK_MOVES = f"""
UNWIND $rows AS r
MATCH (t:Track {{ns: $ns, file_id: r.src}})
MATCH (b:Track {{ns: $ns, file_id: r.dst}})
MERGE (t)-[:MOVED_TO]->(b)
WITH DISTINCT t
{_PROPAGATE}
RETURN collect(moved) AS moved
"""

# Edges are a function of the track's properties: drop the ones that no longer match (and
# tag/tempo nodes left without tracks, so the graph does not depend on history), then
# MERGE the wanted ones. Key nodes are fixed (seeded in setup) and never collected.
_DROP_STALE = """
UNWIND $ids AS id
MATCH (t:Track {{ns: $ns, file_id: id}})
CALL (t) {{
  MATCH (t)-[r:{types}]->(x)
  WITH t, r, x, CASE type(r) {cases} END AS current
  WHERE t.deleted OR NOT coalesce(current, false)
  DELETE r
  WITH x WHERE NOT x:Key AND NOT EXISTS {{ (x)<--() }}
  DELETE x
}}
WITH t WHERE NOT t.deleted
"""

SYNC_TAGS = _DROP_STALE.format(
    types="BY|ON|IN_GENRE",
    cases="WHEN 'BY' THEN x.name = t.artist WHEN 'IN_GENRE' THEN x.name = t.genre "
          "ELSE x.name = t.album AND x.artist = coalesce(t.artist, '')") + """
CALL (t) {
  WITH t WHERE t.artist IS NOT NULL
  MERGE (a:Artist {ns: t.ns, name: t.artist}) MERGE (t)-[:BY]->(a)
}
CALL (t) {
  WITH t WHERE t.album IS NOT NULL
  MERGE (a:Album {ns: t.ns, name: t.album, artist: coalesce(t.artist, '')}) MERGE (t)-[:ON]->(a)
}
CALL (t) {
  WITH t WHERE t.genre IS NOT NULL
  MERGE (g:Genre {ns: t.ns, name: t.genre}) MERGE (t)-[:IN_GENRE]->(g)
}
"""

SYNC_MUSIC = _DROP_STALE.format(
    types="IN_KEY|IN_TEMPO",
    cases="WHEN 'IN_KEY' THEN x.camelot = t.camelot ELSE x.bpm_floor = t.tempo_bucket") + """
CALL (t) {
  WITH t WHERE t.camelot IS NOT NULL
  MATCH (k:Key {ns: t.ns, camelot: t.camelot}) MERGE (t)-[:IN_KEY]->(k)
}
CALL (t) {
  WITH t WHERE t.tempo_bucket IS NOT NULL
  MERGE (b:TempoBucket {ns: t.ns, bpm_floor: t.tempo_bucket}) MERGE (t)-[:IN_TEMPO]->(b)
}
"""

SAVE_CHECKPOINTS = """
UNWIND $rows AS r
MERGE (c:ProjectionCheckpoint {ns: $ns, projection: $projection, topic: r.topic,
                               partition: r.partition})
SET c.offset = CASE WHEN c.offset IS NULL OR r.offset > c.offset THEN r.offset ELSE c.offset END
"""

LOAD_CHECKPOINTS = """
MATCH (c:ProjectionCheckpoint {ns: $ns, projection: $projection})
RETURN c.topic AS topic, c.partition AS partition, c.offset AS offset
"""

# Auto-commit only: CALL ... IN TRANSACTIONS commits every batch, so a namespace of any
# size is deleted without one huge transaction.
DELETE_LABEL_IN_NS = """
MATCH (n:{label}) WHERE n.ns = $ns
CALL (n) {{ DETACH DELETE n }} IN TRANSACTIONS OF 10000 ROWS
"""
