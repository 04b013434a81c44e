"""Query parameters of the pages: parsed with the read layer's parsers (the CLI's and the
API's too), every mistake a PageError (a 400 page naming the parameter), never an exception
further down."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from projections.postgres.queries import SORTS, TrackQuery
from projections.reads import BadQuery, track_query
from streams.worker.http_errors import HttpError

PAGE_SIZE = 50
MAX_TEXT = 4096
MAX_PAGE = 100_000
# File ids and correlation ids are opaque tokens; anything else is refused before it reaches
# a store or Jaeger's query string.
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")
LIBRARY_PARAMS = ("search", "key", "compatible_with", "bpm", "status", "min_confidence",
                  "sort", "dir", "page")


class PageError(HttpError):
    """A refusal answered as an error page."""


def text(query: Mapping[str, str], name: str, required: bool = False) -> str | None:
    value = query.get(name)
    if value is None or value.strip() == "":
        if required:
            raise PageError(400, f"{name} is required")
        return None
    if "\x00" in value:
        raise PageError(400, f"{name} contains a NUL byte")
    if len(value) > MAX_TEXT:
        raise PageError(400, f"{name} is longer than {MAX_TEXT} characters")
    return value.strip()


def whole(query: Mapping[str, str], name: str, default: int, high: int) -> int:
    value = text(query, name)
    if value is None:
        return default
    if not value.isdigit() or not 1 <= int(value) <= high:
        raise PageError(400, f"{name} must be a whole number from 1 to {high}, "
                             f"not {value[:40]!r}")
    return int(value)


def ident(query: Mapping[str, str], name: str, required: bool = False) -> str | None:
    value = text(query, name, required)
    if value is not None and not _ID.match(value):
        raise PageError(400, f"{name} is not an id (letters, digits, . _ : -): {value[:60]!r}")
    return value


@dataclass(frozen=True)
class LibraryView:
    """A library view as held in the URL: the filters, the sort and the page number."""

    params: dict[str, str]
    query: TrackQuery
    sort: str | None
    descending: bool
    page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE


def library_view(query: Mapping[str, str]) -> LibraryView:
    unknown = sorted(set(query) - set(LIBRARY_PARAMS))
    if unknown:
        raise PageError(400, f"unknown parameter {unknown[0][:40]!r} "
                             f"(use {', '.join(LIBRARY_PARAMS)})")
    params = {n: v for n in LIBRARY_PARAMS if (v := text(query, n)) is not None}
    try:
        q = track_query(params.get("key"), params.get("compatible_with"), params.get("bpm"),
                        params.get("search"), params.get("status"), PAGE_SIZE,
                        params.get("min_confidence"))
    except BadQuery as exc:
        raise PageError(400, exc.message) from None
    sort = params.get("sort")
    if sort is not None and sort not in SORTS:
        raise PageError(400, f"sort must be one of {', '.join(SORTS)}, not {sort[:40]!r}")
    direction = params.get("dir", "asc")
    if direction not in ("asc", "desc"):
        raise PageError(400, f"dir must be asc or desc, not {direction[:40]!r}")
    return LibraryView(params, q, sort, direction == "desc",
                       whole(query, "page", 1, MAX_PAGE))
