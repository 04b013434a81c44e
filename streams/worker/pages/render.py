"""HTML building blocks for the pages: one escaping helper used for every value, the layout
template, number cells and query-string links. Nothing here touches a store."""

from __future__ import annotations

import html
import string
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

HERE = Path(__file__).parent
PAGES = ("library", "wheel", "failures", "progress", "trace")
# Inline scripts and styles are refused; scripts, styles and images come from /static only,
# and the only connection a page opens is its own event stream.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def e(value: object) -> str:
    """Every value that reaches HTML goes through here (quotes too: values land in attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


@cache
def _template() -> string.Template:
    return string.Template((HERE / "templates" / "base.html").read_text(encoding="utf-8"))


def page(title: str, body: str, current: str = "", status: int = 200,
         heading: str | None = None) -> web.Response:
    """A whole page; `body` is already-escaped HTML built by the page modules."""
    marks = {f"cur_{p}": ' aria-current="page"' if p == current else "" for p in PAGES}
    text = _template().substitute(title=e(title), heading=e(heading or title), body=body,
                                  page=e(current), **marks)
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8",
                        headers=HEADERS)


def error_page(status: int, message: str) -> web.Response:
    titles = {400: "Bad request", 404: "Not found", 503: "Read model unavailable",
              500: "Internal error"}
    body = f'<p class="error" role="alert">{e(message)}</p><p><a href="/library">Library</a></p>'
    return page(titles.get(status, "Error"), body, status=status)


def link(path: str, params: Mapping[str, Any], text: str, attrs: str = "") -> str:
    """An <a> to `path` with the non-empty `params` as its query string."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    href = f"{path}?{query}" if query else path
    return f'<a href="{e(href)}"{attrs}>{e(text)}</a>'


def num(value: float | None, fmt: str = "{:.1f}") -> str:
    return "" if value is None else fmt.format(value)


def key_label(row: Mapping[str, Any], prefix: str = "") -> str:
    key, scale = row.get(f"{prefix}key"), row.get(f"{prefix}scale")
    if key is None:
        return ""
    return f"{key}{'m' if scale == 'minor' else ''}"


def name_of(row: Mapping[str, Any]) -> str:
    """What a user recognises a track by: its title, else its file name, else its id."""
    if row.get("title"):
        return str(row["title"])
    if row.get("path"):
        return Path(str(row["path"])).name
    return str(row.get("file_id", ""))


def table(headers: Iterable[str], rows: Iterable[Iterable[str]], caption: str = "",
          cls: str = "") -> str:
    """A table of already-escaped cells."""
    head = "".join(f'<th scope="col">{h}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    cap = f"<caption>{caption}</caption>" if caption else ""
    klass = f' class="{cls}"' if cls else ""
    return (f'<div class="scroll"><table{klass}>{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")
