"""The Library, Wheel & tempo and Failures pages, all from the PostgreSQL read model."""

from __future__ import annotations

import math
import shlex
from typing import Any

from aiohttp import web

from projections.postgres.queries import SORTS, STATUSES
from streams.worker.pages.context import PageContext
from streams.worker.pages.params import PAGE_SIZE, LibraryView, library_view, whole
from streams.worker.pages.render import e, key_label, link, name_of, num, page, table

_HEADERS = (("artist", "Artist"), ("title", "Title"), ("bpm", "BPM"), (None, "Conf."),
            ("key", "Key"), (None, "Camelot"), ("energy", "Energy"), ("loudness", "LUFS"),
            (None, "Status"))
_FIELDS = (("search", "Search", "text", "title, artist, album, path"),
           ("key", "Key", "text", "8A, Am, F#m"),
           ("compatible_with", "Mixes with", "text", "8A"),
           ("bpm", "BPM", "text", "120..128"),
           ("min_confidence", "Min. confidence", "text", "0.6"))


def _form(view: LibraryView) -> str:
    p = view.params
    fields = "".join(
        f'<label>{label}<input name="{name}" type="{kind}" value="{e(p.get(name))}" '
        f'placeholder="{e(hint)}" autocomplete="off"></label>'
        for name, label, kind, hint in _FIELDS)
    options = "".join(f'<option value="{s}"{" selected" if p.get("status") == s else ""}>'
                      f'{s}</option>' for s in ("", *STATUSES, "all"))
    keep = "".join(f'<input type="hidden" name="{n}" value="{e(p[n])}">'
                   for n in ("sort", "dir") if n in p)
    return (f'<form class="filters" method="get" action="/library" role="search">{fields}'
            f'<label>Status<select name="status">{options}</select></label>{keep}'
            '<button type="submit">Filter</button> <a href="/library">Clear</a></form>')


def _header(view: LibraryView, sort: str | None, label: str) -> str:
    if sort is None:
        return e(label)
    descending = view.sort == sort and not view.descending
    params = {**view.params, "sort": sort, "dir": "desc" if descending else "asc", "page": ""}
    arrow = "" if view.sort != sort else (" ▼" if view.descending else " ▲")
    return link("/library", params, label + arrow)


def _row(r: dict[str, Any]) -> list[str]:
    return [e(r["artist"]), link("/track", {"id": r["file_id"]}, name_of(r)),
            num(r["bpm"]), num(r["bpm_confidence"], "{:.2f}"), e(key_label(r)),
            link("/library", {"key": r["camelot"]}, r["camelot"]) if r["camelot"] else "",
            num(r["energy"], "{:.2f}"), num(r["loudness_lufs"]), e(r["status"])]


def _pager(view: LibraryView, total: int) -> str:
    pages = max(1, math.ceil(total / PAGE_SIZE))
    parts = [f"<span>page {view.page} of {pages}</span>"]
    if view.page > 1:
        parts.insert(0, link("/library", {**view.params, "page": view.page - 1}, "← previous",
                             ' rel="prev"'))
    if view.page < pages:
        parts.append(link("/library", {**view.params, "page": view.page + 1}, "next →",
                          ' rel="next"'))
    return f'<nav class="pager" aria-label="Pages of results">{" ".join(parts)}</nav>'


async def library(ctx: PageContext, request: web.Request) -> web.Response:
    view = library_view(request.query)
    total, rows = await ctx.reads.tracks.library(view.query, view.sort, view.descending,
                                                 view.offset)
    headers = [_header(view, s, label) for s, label in _HEADERS]
    first = view.offset + 1 if rows else 0
    caption = f'<span id="count" data-total="{total}">{total}</span> track(s); ' \
              f"showing {first}-{view.offset + len(rows)}"
    body = _form(view) + table(headers, (_row(r) for r in rows), caption, "tracks") + \
        _pager(view, total)
    return page("Library", body, "library")


# The Camelot wheel: number n at n x 30 degrees clockwise from the top, B (major) outside,
# A (minor) inside; a segment's opacity grows with its count.
_RINGS = {"B": (120.0, 180.0), "A": (60.0, 120.0)}


def _point(r: float, degrees: float) -> str:
    a = math.radians(degrees - 90)
    return f"{200 + r * math.cos(a):.1f},{200 + r * math.sin(a):.1f}"


def _segment(code: str, count: int, most: int) -> str:
    n, letter = int(code[:-1]), code[-1]
    inner, outer = _RINGS[letter]
    a0, a1 = n * 30 - 15, n * 30 + 15
    d = (f"M{_point(outer, a0)} A{outer},{outer} 0 0 1 {_point(outer, a1)} "
         f"L{_point(inner, a1)} A{inner},{inner} 0 0 0 {_point(inner, a0)} Z")
    x, y = _point((inner + outer) / 2, n * 30).split(",")
    opacity = 0.15 + 0.85 * count / most if most else 0.15
    label = f"{code}: {count} track(s)"
    return (f'<a href="/library?key={code}" class="seg k{letter}" data-key="{code}" '
            f'data-count="{count}" aria-label="{label}"><title>{label}</title>'
            f'<path d="{d}" fill-opacity="{opacity:.2f}"/>'
            f'<text x="{x}" y="{y}" class="code">{code}</text>'
            f'<text x="{x}" y="{float(y) + 14:.1f}" class="n">{count}</text></a>')


def wheel_svg(counts: dict[str, int]) -> str:
    most = max(counts.values(), default=0)
    segments = "".join(_segment(f"{n}{letter}", counts.get(f"{n}{letter}", 0), most)
                       for letter in "BA" for n in range(1, 13))
    return (f'<svg class="wheel" viewBox="0 0 400 400" role="group" '
            f'aria-label="Camelot wheel, tracks per key">{segments}</svg>')


def histogram_svg(bins: list[tuple[int, int]], width: int) -> str:
    if not bins:
        return "<p>No analysed tracks yet.</p>"
    lo, hi = bins[0][0], bins[-1][0]
    edges = range(lo, hi + width, width)
    counts = dict(bins)
    most = max(counts.values())
    bar_w = 600 / len(edges)
    most = max(most, 1)
    bars = []
    for i, edge in enumerate(edges):
        n = counts.get(edge, 0)
        h = 200 * n / most
        x = i * bar_w
        label = f"{edge}-{edge + width} BPM: {n} track(s)"
        bars.append(
            f'<a href="/library?bpm={edge}..{edge + width - 0.001:g}" class="bar" '
            f'data-bpm="{edge}" data-count="{n}" aria-label="{label}"><title>{label}</title>'
            f'<rect x="{x + 1:.1f}" y="{210 - h:.1f}" width="{bar_w - 2:.1f}" '
            f'height="{max(h, 1):.1f}"/>'
            f'<text x="{x + bar_w / 2:.1f}" y="{205 - h:.1f}" class="n">{n}</text>'
            f'<text x="{x + bar_w / 2:.1f}" y="228" class="tick">{edge}</text></a>')
    return (f'<svg class="hist" viewBox="0 0 600 240" role="group" '
            f'aria-label="Tracks per BPM range">{"".join(bars)}</svg>')


async def wheel(ctx: PageContext, request: web.Request) -> web.Response:
    width = whole(request.query, "width", 5, 50)
    counts, bins = await ctx.reads.tracks.wheel(width)
    body = ('<p>Select a key or a tempo bar to list its tracks.</p><div class="charts">'
            f'<section><h2>Camelot wheel</h2>{wheel_svg(counts)}</section>'
            f'<section><h2>Tempo ({width} BPM bins)</h2>{histogram_svg(bins, width)}'
            "</section></div>")
    return page("Wheel & tempo", body, "wheel")


async def failures(ctx: PageContext, request: web.Request) -> web.Response:
    number = whole(request.query, "page", 1, 100_000)
    total, rows = await ctx.reads.tracks.failures(PAGE_SIZE, (number - 1) * PAGE_SIZE)
    cells = ([link("/track", {"id": r["file_id"]}, name_of(r)), e(r["reason"]),
              e(r["message"]), e(r["last_error_at"]),
              f"<code>tracktion reanalyse --file {e(shlex.quote(r['path'] or ''))}</code>"]
             for r in rows)
    body = (f'<p><span id="count" data-total="{total}">{total}</span> failed file(s). '
            "Re-analyse them all with <code>tracktion reanalyse --failed</code>, or one with "
            "the command in its row. This page changes nothing.</p>" +
            table(("File", "Reason", "Message", "Failed at", "Re-analyse"), cells,
                  cls="failures"))
    if total > number * PAGE_SIZE:
        body += link("/failures", {"page": number + 1}, "next →", ' rel="next"')
    return page("Failures", body, "failures")


__all__ = ["SORTS", "failures", "library", "wheel"]
