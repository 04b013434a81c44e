"""Track search over the read model: musical key, Camelot compatibility, BPM range, fuzzy text
and status, shared by the CLI and the HTTP API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.postgres.schema import Tables
from schemas.status import TrackStatus

# Pitch classes by name; queries match every spelling the analyser might have stored.
_PITCH = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_SPELLINGS: dict[int, tuple[str, ...]] = {
    0: ("C",), 1: ("C#", "Db"), 2: ("D",), 3: ("D#", "Eb"), 4: ("E",), 5: ("F",),
    6: ("F#", "Gb"), 7: ("G",), 8: ("G#", "Ab"), 9: ("A",), 10: ("A#", "Bb"), 11: ("B",),
}
_CAMELOT = re.compile(r"^\s*(1[0-2]|[1-9])\s*([ABab])\s*$")
_KEY = re.compile(r"^\s*([A-Ga-g])\s*([#b\u266f\u266d]?)\s*(m|min|minor|maj|major)?\s*$")
_BPM = re.compile(r"^\s*(\d+(?:\.\d+)?)?\s*(?:\.\.|-)?\s*(\d+(?:\.\d+)?)?\s*$")
STATUSES = tuple(TrackStatus)
TRACK_COLUMNS = ("file_id", "artist", "title", "album", "bpm", "bpm_confidence", "key",
                 "scale", "camelot", "key_strength", "tuning_cents", "energy", "status", "path",
                 "first_beat_s", "grid_confidence", "downbeat_s", "beats_per_bar")
# Why a failed track failed, from `failures` (null unless the track's status is failed: a
# later success keeps the old failure row).
FAILURE_COLUMNS = ("failure_reason", "failure_message")
RESULT_COLUMNS = (*TRACK_COLUMNS, *FAILURE_COLUMNS)


@dataclass(frozen=True)
class KeyFilter:
    """Either a Camelot code, or a pitch (all its spellings) with a scale."""

    camelot: str | None = None
    pitch: int = 0
    names: tuple[str, ...] = ()
    scale: str | None = None

    def as_camelot(self) -> str:
        if self.camelot is not None:
            return self.camelot
        # A fifth up is one step round the wheel; A minor = 8A and C major = 8B anchor it.
        if self.scale == "minor":
            return f"{(7 * self.pitch + 4) % 12 + 1}A"
        return f"{(7 * self.pitch + 7) % 12 + 1}B"


def parse_key(text: str) -> KeyFilter:
    """'8A' / '8a' -> Camelot; 'Am', 'A minor', 'F#m', 'Bb', 'C major' -> pitch and scale."""
    if m := _CAMELOT.match(text):
        return KeyFilter(camelot=f"{int(m[1])}{m[2].upper()}")
    if m := _KEY.match(text):
        pitch = _PITCH[m[1].upper()] + {"#": 1, "\u266f": 1, "b": -1, "\u266d": -1}.get(m[2], 0)
        scale = "minor" if m[3] in ("m", "min", "minor") else "major"
        return KeyFilter(pitch=pitch % 12, names=_SPELLINGS[pitch % 12], scale=scale)
    raise ValueError(f"not a key: {text!r} (try 8A, Am, 'A minor', F#m, Bb)")


def compatible_camelot(code: str) -> tuple[str, ...]:
    """Harmonic mixing neighbours: the code itself, its relative (other letter), and +-1."""
    key = parse_key(code).as_camelot()
    number, letter = int(key[:-1]), key[-1]
    other = "B" if letter == "A" else "A"
    return (key, f"{number % 12 + 1}{letter}", f"{(number - 2) % 12 + 1}{letter}",
            f"{number}{other}")


def parse_confidence(text: str) -> float:
    """A tempo confidence threshold between 0 and 1 ('0.6')."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"not a confidence: {text!r} (a number from 0 to 1)") from None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {text}")
    return value


def parse_bpm(text: str) -> tuple[float | None, float | None]:
    """'120..128', '120-128', '124' (exact), '120..' or '..128' (open ends)."""
    m = _BPM.match(text)
    if not m or not (m[1] or m[2]):
        raise ValueError(f"not a BPM range: {text!r} (try 120..128)")
    low = float(m[1]) if m[1] else None
    high = float(m[2]) if m[2] else None
    if ".." not in text and "-" not in text:
        high = low
    if low is not None and high is not None and low > high:
        raise ValueError(f"empty BPM range: {text!r}")
    return low, high


@dataclass(frozen=True)
class TrackQuery:
    key: KeyFilter | None = None
    compatible_with: tuple[str, ...] = ()
    bpm: tuple[float | None, float | None] = (None, None)
    search: str | None = None
    status: str | None = None  # None: everything but deleted; "all": everything
    min_confidence: float | None = None  # bpm_confidence >= this (unanalysed tracks drop out)
    limit: int = 50
    file_ids: tuple[str, ...] = ()  # only these tracks (e.g. a playlist's), if any are given


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filters(tables: Tables, q: TrackQuery) -> list[ColumnElement[bool]]:
    t = tables.tracks
    where: list[ColumnElement[bool]] = []
    if q.key is not None and q.key.camelot is not None:
        where.append(t.c.camelot == q.key.camelot)
    elif q.key is not None:
        where += [t.c.key.in_(q.key.names), t.c.scale == q.key.scale]
    if q.compatible_with:
        where.append(t.c.camelot.in_(q.compatible_with))
    low, high = q.bpm
    if low is not None:
        where.append(t.c.bpm >= low)
    if high is not None:
        where.append(t.c.bpm <= high)
    if q.min_confidence is not None:
        where.append(t.c.bpm_confidence >= q.min_confidence)
    if q.file_ids:
        where.append(t.c.file_id.in_(q.file_ids))
    if q.status is None:
        where.append(t.c.status != TrackStatus.DELETED)
    elif q.status != "all":
        where.append(t.c.status == q.status)
    return where


def _search_match(tables: Tables, search: str, fuzzy: bool) -> ColumnElement[bool]:
    t = tables.tracks
    pattern = f"%{_escape_like(search)}%"
    # GIN trigram indexes serve both ILIKE (substrings) and `<%` (word similarity, forgives
    # typos), combined with a BitmapOr.
    matches = [c.ilike(pattern, escape="\\") for c in (t.c.title, t.c.artist, t.c.album, t.c.path)]
    if fuzzy:
        matches += [literal(search).op("<%")(c) for c in (t.c.title, t.c.artist, t.c.album)]
    return or_(*matches)


def _similarity(tables: Tables, search: str) -> ColumnElement[float]:
    t = tables.tracks
    return func.greatest(*(func.word_similarity(literal(search), c)
                           for c in (t.c.title, t.c.artist, t.c.album)))


def build_query(tables: Tables, q: TrackQuery, fuzzy: bool = False) -> Select[Any]:
    """The SELECT for `q`; with a search text, substring matches only unless `fuzzy`."""
    t = tables.tracks
    where = _filters(tables, q)
    order: list[Any] = []
    if q.search:
        where.append(_search_match(tables, q.search, fuzzy))
        order.append(_similarity(tables, q.search).desc())
    order += [t.c.artist.asc().nulls_last(), t.c.title.asc().nulls_last(), t.c.file_id]
    f = tables.failures
    failed = t.c.status == TrackStatus.FAILED
    columns = [*(t.c[name] for name in TRACK_COLUMNS),
               case((failed, f.c.reason)).label("failure_reason"),
               case((failed, f.c.message)).label("failure_message")]
    source = t.outerjoin(f, f.c.file_id == t.c.file_id)
    return (select(*columns).select_from(source).where(*where).order_by(*order)
            .limit(q.limit))


# What exports need beyond the result columns: file facts from `tracks`, and the current
# analysis' duration and format facts from `analyses`.
EXPORT_TRACK_COLUMNS = ("genre", "year", "track_number", "size", "format")
EXPORT_ANALYSIS_COLUMNS = ("duration_s", "bit_rate", "sample_rate", "open_key")


def export_query(tables: Tables, q: TrackQuery, limit: int | None = None) -> Select[Any]:
    """`build_query`'s filters and order over every match (or `limit`), with the columns an
    export writes. A search text takes substring and fuzzy matches in one pass, ranked by
    similarity (search_tracks' two passes exist only to fill a small limit)."""
    t, a = tables.tracks, tables.analyses
    return (build_query(tables, q, fuzzy=bool(q.search)).limit(limit)
            .outerjoin(a, a.c.analysis_id == t.c.current_analysis_id)
            .add_columns(*(t.c[n] for n in EXPORT_TRACK_COLUMNS),
                         *(a.c[n] for n in EXPORT_ANALYSIS_COLUMNS)))


def count_query(query: Select[Any]) -> Select[Any]:
    """How many rows `query` yields (exports write the count before the rows)."""
    return select(func.count()).select_from(query.order_by(None).subquery())


async def search_tracks(conn: AsyncConnection, tables: Tables,
                        q: TrackQuery) -> list[dict[str, Any]]:
    """Matching tracks; a search text lists substring hits first, then fuzzy ones.

    The fuzzy pass runs only when substrings do not fill `limit`: on text where many rows
    are similar to the needle it matches much of the table, while substring hits stay few.
    """
    rows = [dict(r._mapping) for r in await conn.execute(build_query(tables, q))]
    if q.search and len(rows) < q.limit:
        seen = {r["file_id"] for r in rows}
        fuzzy = await conn.execute(build_query(tables, q, fuzzy=True))
        rows += [dict(r._mapping) for r in fuzzy if r.file_id not in seen][:q.limit - len(rows)]
    return rows


# The library page: the search filters, one sortable page at a time, and the aggregates
# behind its wheel and histogram. Sort keys are a closed set, never column names from a URL.
SORTS = ("artist", "title", "bpm", "key", "energy", "loudness")
RANK_LIMIT = 2000  # a search with more matches is listed by artist and title
PAGE_COLUMNS = ("loudness_lufs", "danceability")


def _sort_columns(tables: Tables, sort: str) -> list[Any]:
    t = tables.tracks
    if sort == "key":  # wheel order: 1A 1B 2A ... 12B, not text order (10A before 1A)
        return [func.length(t.c.camelot), t.c.camelot]
    return [{"artist": t.c.artist, "title": t.c.title, "bpm": t.c.bpm, "energy": t.c.energy,
             "loudness": t.c.loudness_lufs}[sort]]


def library_ids_query(tables: Tables, q: TrackQuery, sort: str | None = None,
                      descending: bool = False, offset: int = 0,
                      fuzzy: bool = False, rank: bool = True) -> Select[Any]:
    """The file ids of one page: `build_query`'s filters (a search matches substrings, or
    also fuzzily with `fuzzy`), `q.limit` rows from `offset`, ordered by `sort` (nulls last,
    then file id) or, without one, as `query tracks` orders (similarity if `rank`, artist,
    title). Only ids are sorted, so a sort over the whole table moves narrow rows."""
    t = tables.tracks
    where = _filters(tables, q)
    order: list[Any] = []
    if q.search:
        where.append(_search_match(tables, q.search, fuzzy))
    if sort is not None:
        if sort not in SORTS:
            raise ValueError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
        order += [(c.desc() if descending else c.asc()).nulls_last()
                  for c in _sort_columns(tables, sort)]
    elif q.search and rank:
        order.append(_similarity(tables, q.search).desc())
    if sort is None:
        order += [t.c.artist.asc().nulls_last(), t.c.title.asc().nulls_last()]
    return (select(t.c.file_id).where(*where).order_by(*order, t.c.file_id)
            .limit(q.limit).offset(offset))


async def library_page(conn: AsyncConnection, tables: Tables, q: TrackQuery,
                       sort: str | None = None, descending: bool = False,
                       offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """How many tracks match `q` in all, and one page of them with `build_query`'s columns
    plus loudness. A search lists its substring matches, or its fuzzy ones when no track
    contains the text (paging through a mix of both would reorder pages as it goes), most
    similar first unless more than RANK_LIMIT match: then similarity is nearly flat, and
    computing it for every match cost ~200 ms at 15,000 matches."""
    fuzzy = False
    ids_query = library_ids_query(tables, q, sort, descending, offset)
    total = (await conn.execute(count_query(ids_query.limit(None).offset(None)))).scalar_one()
    ids: list[str] | None = None
    if q.search and total == 0:
        # Fuzzy matches are few and costly to find (seven trigram index scans): count them
        # in the same scan that pages them (a window count) instead of scanning twice.
        fuzzy = True
        ids_query = library_ids_query(tables, q, sort, descending, offset, fuzzy=True)
        ids, counted = await _ids_with_total(conn, ids_query)
        total = counted if counted is not None else (await conn.execute(
            count_query(ids_query.limit(None).offset(None)))).scalar_one()
    if q.search and total > RANK_LIMIT:
        ids_query = library_ids_query(tables, q, sort, descending, offset, fuzzy, rank=False)
        ids = None
    if ids is None:
        ids = [r.file_id for r in await conn.execute(ids_query)]
    if not ids:
        return int(total), []
    t = tables.tracks
    rows_query = build_query(tables, TrackQuery(status="all", file_ids=tuple(ids),
                                                limit=len(ids))).add_columns(
        *(t.c[n] for n in PAGE_COLUMNS))
    found = {r.file_id: dict(r._mapping) for r in await conn.execute(rows_query)}
    return int(total), [found[i] for i in ids if i in found]


async def _ids_with_total(conn: AsyncConnection, ids_query: Select[Any]
                          ) -> tuple[list[str], int | None]:
    """One page of ids and the number of all matches, from one scan; None for the number
    when the page is past the end (no row carries it)."""
    rows = (await conn.execute(ids_query.add_columns(func.count().over().label("total")))).all()
    if not rows:
        return [], None
    return [r.file_id for r in rows], int(rows[0].total)


async def wheel_counts(conn: AsyncConnection, tables: Tables, width: int = 5,
                       ) -> tuple[dict[str, int], list[tuple[int, int]]]:
    """Tracks per Camelot code, and (lower edge, tracks) per `width`-BPM bin ascending, from
    one scan grouped by both (deleted tracks excepted; empty keys and bins are absent)."""
    t = tables.tracks
    low = (func.floor(t.c.bpm / width) * width).label("low")
    rows = await conn.execute(select(t.c.camelot, low, func.count()).where(
        t.c.status != TrackStatus.DELETED).group_by(t.c.camelot, low))
    keys: dict[str, int] = {}
    bins: dict[int, int] = {}
    for camelot, edge, n in rows:
        if camelot is not None:
            keys[camelot] = keys.get(camelot, 0) + int(n)
        if edge is not None:
            bins[int(edge)] = bins.get(int(edge), 0) + int(n)
    return keys, sorted(bins.items())


DETAIL_ANALYSIS_COLUMNS = (
    "occurred_at", "analyzer_version", "duration_s", "sample_rate", "channels", "codec",
    "bit_rate", "bpm", "bpm_confidence", "beats_count", "key", "scale", "key_strength",
    "camelot", "open_key", "loudness_lufs", "loudness_range_lu", "peak_dbfs", "replay_gain_db",
    "danceability", "energy", "arousal", "valence", "mood", "tuning_cents", "first_beat_s",
    "grid_confidence", "downbeat_s", "beats_per_bar")


async def track_detail(conn: AsyncConnection, tables: Tables,
                       file_id: str) -> dict[str, Any] | None:
    """One track's row, its current analysis' features (prefixed `a_`) and any failure."""
    t, a, f = tables.tracks, tables.analyses, tables.failures
    source = (t.outerjoin(a, a.c.analysis_id == t.c.current_analysis_id)
              .outerjoin(f, f.c.file_id == t.c.file_id))
    query = select(*(t.c[n] for n in (*TRACK_COLUMNS, *EXPORT_TRACK_COLUMNS, *PAGE_COLUMNS)),
                   *(a.c[n].label(f"a_{n}") for n in DETAIL_ANALYSIS_COLUMNS),
                   f.c.reason.label("failure_reason"), f.c.message.label("failure_message"),
                   f.c.last_error_at.label("failure_at")).select_from(source).where(
        t.c.file_id == file_id)
    row = (await conn.execute(query)).first()
    return None if row is None else dict(row._mapping)


async def analysis_history(conn: AsyncConnection, tables: Tables, file_id: str,
                           limit: int = 50) -> list[dict[str, Any]]:
    """A track's analyses, newest first, with the analyser version and time of each."""
    a = tables.analyses
    rows = await conn.execute(
        select(a.c.analysis_id, a.c.occurred_at, a.c.analyzer_version, a.c.bpm,
               a.c.bpm_confidence, a.c.camelot, a.c.key_strength, a.c.processing_ms,
               a.c.cached, a.c.worker)
        .where(a.c.file_id == file_id).order_by(a.c.occurred_at.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]


async def failure_list(conn: AsyncConnection, tables: Tables, limit: int = 100,
                       offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """Tracks whose status is failed, newest failure first, with reason and message."""
    t, f = tables.tracks, tables.failures
    where = (t.c.status == TrackStatus.FAILED,)
    source = t.join(f, f.c.file_id == t.c.file_id)
    total = (await conn.execute(select(func.count()).select_from(source).where(*where)))
    rows = await conn.execute(
        select(t.c.file_id, t.c.path, t.c.artist, t.c.title, f.c.reason, f.c.message,
               f.c.attempts, f.c.transient, f.c.last_error_at).select_from(source)
        .where(*where).order_by(f.c.last_error_at.desc(), t.c.file_id)
        .limit(limit).offset(offset))
    return int(total.scalar_one()), [dict(r._mapping) for r in rows]
