"""`query duplicates`: groups of tracks holding the same recording, from the fingerprints in
the read model, each with the copy to keep first (the matching is in fingerprints.py).

Two queries: every live track's duration and 64-bit signature (a few MB at 100,000
tracks), then the full fingerprints of the candidate pairs' tracks only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.postgres.fingerprints import (
    DEFAULT_THRESHOLD,
    MAX_MISMATCH,
    Copy,
    candidate_pairs,
    groups,
    items_of,
    keep_order,
    similarity,
)
from projections.postgres.schema import Tables
from schemas.status import TrackStatus

DURATION_TOLERANCE_S = 2.0


@dataclass(frozen=True)
class DuplicateGroup:
    """`copies[0]` is the one to keep; `similarity[i]` is copy i's to it (1.0 for itself)."""

    copies: list[Copy]
    similarity: list[float]

    def as_dict(self) -> dict[str, Any]:
        return {"keep": self.copies[0].path,
                "copies": [{**c.__dict__, "lossless": c.lossless, "similarity": round(s, 4)}
                           for c, s in zip(self.copies, self.similarity, strict=True)]}


@dataclass
class DuplicateReport:
    groups: list[DuplicateGroup] = field(default_factory=list)
    tracks_with_fingerprint: int = 0
    candidate_pairs: int = 0
    confirmed_pairs: int = 0


async def find_duplicates(conn: AsyncConnection, tables: Tables,
                          threshold: float = DEFAULT_THRESHOLD,
                          duration_tolerance_s: float = DURATION_TOLERANCE_S,
                          max_mismatch: int = MAX_MISMATCH
                          ) -> DuplicateReport:
    t, a = tables.tracks, tables.analyses
    live = (t.join(a, a.c.analysis_id == t.c.current_analysis_id))
    scan = (select(t.c.file_id, a.c.duration_s, t.c.fingerprint_signature,
                   t.c.fingerprint_mask).select_from(live)
            .where(t.c.status != TrackStatus.DELETED, t.c.fingerprint_signature.is_not(None),
                   a.c.duration_s.is_not(None)))
    rows = (await conn.execute(scan)).all()
    report = DuplicateReport(tracks_with_fingerprint=len(rows))
    pairs = candidate_pairs([r.duration_s for r in rows],
                            [(r.fingerprint_signature, r.fingerprint_mask) for r in rows],
                            duration_tolerance_s, max_mismatch)
    report.candidate_pairs = len(pairs)
    if not pairs:
        return report
    ids = sorted({rows[i].file_id for pair in pairs for i in pair})
    detail = (select(t.c.file_id, t.c.path, a.c.codec, t.c.format, a.c.bit_rate,
                     a.c.duration_s, a.c.fingerprint).select_from(live)
              .where(t.c.file_id.in_(ids)))
    found = {r.file_id: r for r in await conn.execute(detail)}
    items = {fid: items_of(r.fingerprint) for fid, r in found.items() if r.fingerprint}
    confirmed = []
    for i, j in pairs:
        x, y = items.get(rows[i].file_id), items.get(rows[j].file_id)
        if x is not None and y is not None and similarity(x, y) >= threshold:
            confirmed.append((i, j))
    report.confirmed_pairs = len(confirmed)
    for component in groups(len(rows), confirmed):
        copies = sorted((Copy(r.file_id, r.path, r.codec, r.format, r.bit_rate, r.duration_s)
                         for r in (found[rows[i].file_id] for i in component)), key=keep_order)
        keep = items[copies[0].file_id]
        report.groups.append(DuplicateGroup(copies, [similarity(keep, items[c.file_id])
                                                     for c in copies]))
    report.groups.sort(key=lambda g: g.copies[0].path)
    return report
