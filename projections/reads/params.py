"""Query parameters as every entrypoint receives them (text) into the read layer's queries.

Pure: no I/O. Every mistake is a BadQuery naming the parameter, so the CLI, the JSON API
and the pages refuse the same input with the same words.
"""

from __future__ import annotations

from projections.neo4j.queries import MAX_TOLERANCE
from projections.postgres.queries import (
    STATUSES,
    TrackQuery,
    compatible_camelot,
    parse_bpm,
    parse_confidence,
    parse_key,
)
from projections.reads.errors import BadQuery

DEFAULT_TOLERANCE = "6%"


def track_query(key: str | None, compatible_with: str | None, bpm: str | None,
                search: str | None, status: str | None, limit: int,
                min_confidence: str | float | None = None) -> TrackQuery:
    """Filters -> TrackQuery; BadQuery says which filter is wrong."""
    if status is not None and status not in (*STATUSES, "all"):
        raise BadQuery("status", f"must be one of {', '.join((*STATUSES, 'all'))}")
    if limit < 1:
        raise BadQuery("limit", "must be at least 1")
    try:
        return TrackQuery(
            key=parse_key(key) if key else None,
            compatible_with=compatible_camelot(compatible_with) if compatible_with else (),
            bpm=parse_bpm(bpm) if bpm else (None, None),
            search=search or None, status=status,
            min_confidence=None if min_confidence is None
            else parse_confidence(str(min_confidence)),
            limit=limit)
    except ValueError as exc:  # the parsers' messages quote the value, which says enough
        raise BadQuery(None, str(exc)) from None


def parse_tolerance(text: str) -> float:
    """'6%' and '6' mean 6 %, '0.06' means 6 %: values of 1 or more are read as percent."""
    raw = text.strip()
    try:
        value = float(raw.rstrip("%"))
    except ValueError:
        raise BadQuery("bpm_tolerance", f"not a number: {text!r}", sep=": ") from None
    if raw.endswith("%") or value >= 1:
        value /= 100
    return check_tolerance(value)


def check_tolerance(value: float) -> float:
    """`value` if it is a tempo tolerance the graph can answer for (a fraction, 0 to 0.3)."""
    # Callers with a fixed tolerance skip parse_tolerance; without this the graph query
    # would refuse an out-of-range one with a bare ValueError, indistinguishable from a bug.
    if not 0 <= value <= MAX_TOLERANCE:
        raise BadQuery("bpm_tolerance", f"must be between 0% and {MAX_TOLERANCE:.0%}")
    return value
