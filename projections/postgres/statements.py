"""SQL of the writer: register-wise upserts (the SQL twin of rows.merge_track), whole-row
versioned upserts, move propagation and checkpoint upserts, built once per schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, and_, any_, bindparam, case, exists, func, not_, or_, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.sql.dml import Update
from sqlalchemy.sql.schema import Table

from projections.postgres.rows import MOVED_GROUPS, TRACK_GROUPS
from projections.postgres.schema import Tables


def track_upsert(t: Table) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE taking, per register, the row with the newer version.

    In the SET list `t.c.x` is the stored value and `excluded.x` the incoming one; the WHERE
    skips the write (and its WAL) when nothing incoming is newer.
    """
    ins = insert(t)
    ex = ins.excluded
    set_: dict[str, Any] = {}
    newer_any = []
    for version, cols in TRACK_GROUPS.items():
        newer = ex[version] > t.c[version]
        newer_any.append(newer)
        for col in cols:
            set_[col] = case((newer, ex[col]), else_=t.c[col])
        set_[version] = func.greatest(t.c[version], ex[version])
    set_["created_at"] = func.least(t.c.created_at, ex.created_at)
    return ins.on_conflict_do_update(
        index_elements=[t.c.file_id], set_=set_,
        where=or_(*newer_any, ex.created_at < t.c.created_at))


def versioned_upsert(t: Table) -> Any:
    """Whole-row last-writer-wins by `version` (redelivered or duplicated events are no-ops)."""
    ins = insert(t)
    keys = [c.name for c in t.primary_key.columns]
    set_ = {c.name: ins.excluded[c.name] for c in t.columns if c.name not in keys}
    return ins.on_conflict_do_update(index_elements=keys, set_=set_,
                                     where=ins.excluded.version > t.c.version)


def move_propagation(tables: Tables) -> Update:
    """Copy progress and analysis registers along moves (old id -> new id) where newer.

    Run until it updates nothing: chains of moves then converge whatever order the move and
    the old id's analysis arrived in. A not_found failure of the old id stays behind.
    `:ids` limits it to moves touching this batch's rows.
    """
    t, m, failures = tables.tracks, tables.moves, tables.failures
    f = t.alias("moved_from")
    # The old id's not_found failure says its path is gone, which the move explains; it is no
    # news about the file, so it does not travel (the move is analysed under the new id).
    path_gone = exists().where(failures.c.file_id == f.c.file_id,
                               failures.c.reason == "not_found",
                               failures.c.version == f.c.progress_version)
    values: dict[str, Any] = {}
    newer_any = []
    for version in MOVED_GROUPS:
        newer = f.c[version] > t.c[version]
        if version == "progress_version":
            newer = and_(newer, not_(path_gone))
        newer_any.append(newer)
        for col in (*TRACK_GROUPS[version], version):
            values[col] = case((newer, f.c[col]), else_=t.c[col])
    ids = bindparam("ids", type_=ARRAY(Text))
    return (
        update(t).values(values)
        .where(t.c.file_id == m.c.to_id, f.c.file_id == m.c.from_id,
               or_(m.c.from_id == any_(ids), m.c.to_id == any_(ids)), or_(*newer_any))
        .returning(t.c.file_id)
    )


def checkpoint_upsert(t: Table) -> Any:
    """Offsets only move forward: a zombie writer after a rebalance cannot rewind them."""
    ins = insert(t)
    return ins.on_conflict_do_update(
        index_elements=[t.c.projection, t.c.topic, t.c.partition],
        set_={"offset": func.greatest(t.c.offset, ins.excluded.offset)})


@dataclass(frozen=True)
class Statements:
    tracks: Any
    analyses: Any
    failures: Any
    moves: Any
    propagate: Update
    checkpoints: Any

    @classmethod
    def for_tables(cls, tables: Tables) -> Statements:
        return cls(track_upsert(tables.tracks), versioned_upsert(tables.analyses),
                   versioned_upsert(tables.failures), versioned_upsert(tables.moves),
                   move_propagation(tables), checkpoint_upsert(tables.checkpoints))
