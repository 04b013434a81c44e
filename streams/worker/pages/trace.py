"""The Trace page: a file's or a batch's traces from Jaeger's query API as a waterfall, found
and arranged by the same reader as `tracktion trace` (projections/reads/traces.py)."""

from __future__ import annotations

import json

from aiohttp import web

from infra.jaeger_query import SpanNode
from projections.reads import TraceNotFound
from streams.worker.pages.context import PageContext
from streams.worker.pages.params import ident, whole
from streams.worker.pages.render import e, page

ROW_H = 22
_FORM = ('<form method="get" action="/trace" class="filters">'
         '<label>File id<input name="file_id" value="{fid}" autocomplete="off"></label>'
         '<label>Batch (correlation id)<input name="correlation_id" value="{cid}" '
         'autocomplete="off"></label><button type="submit">Show</button></form>')


def _flatten(roots: list[SpanNode]) -> list[tuple[int, SpanNode]]:
    out: list[tuple[int, SpanNode]] = []

    def walk(node: SpanNode, depth: int) -> None:
        out.append((depth, node))
        for child in node.children:
            walk(child, depth + 1)

    for root in roots:
        walk(root, 0)
    return out


def waterfall(trace_id: str, roots: list[SpanNode]) -> str:
    """One table row per span: name (indented by depth), service, offset, duration, a bar
    drawn in SVG attributes (no inline styles under the CSP) and the attributes."""
    spans = _flatten(roots)
    if not spans:
        return ""
    origin = min(n.start_us for _, n in spans)
    end = max(n.start_us + n.duration_us for _, n in spans)
    total = max(end - origin, 1)
    rows = []
    for depth, n in spans:
        x = 400 * (n.start_us - origin) / total
        w = max(400 * n.duration_us / total, 1.0)
        error = n.attributes.get("error") in (True, "true") or \
            n.attributes.get("otel.status_code") == "ERROR"
        attrs = "".join(f"<dt>{e(k)}</dt><dd>{e(json.dumps(v) if not isinstance(v, str) else v)}"
                        f"</dd>" for k, v in sorted(n.attributes.items()))
        rows.append(
            f'<tr class="{"span error" if error else "span"}" data-depth="{depth}">'
            f'<td class="d{min(depth, 8)}">{e(n.name)}{" ⚠ error" if error else ""}</td>'
            f"<td>{e(n.service)}</td><td>+{(n.start_us - origin) / 1000:.1f}</td>"
            f"<td>{n.duration_us / 1000:.1f}</td>"
            f'<td class="bar"><svg viewBox="0 0 400 {ROW_H}" preserveAspectRatio="none" '
            f'aria-hidden="true"><rect x="{x:.1f}" y="4" width="{w:.1f}" height="{ROW_H - 8}"'
            f'/></svg></td><td><details><summary>{len(n.attributes)}</summary><dl>{attrs}'
            "</dl></details></td></tr>")
    return (f'<h2>trace <code>{e(trace_id)}</code> · {len(spans)} spans · '
            f"{total / 1000:.1f} ms</h2>"
            '<div class="scroll"><table class="waterfall"><thead><tr><th scope="col">Span</th>'
            '<th scope="col">Service</th><th scope="col">Start ms</th>'
            '<th scope="col">Duration ms</th><th scope="col">Timeline</th>'
            f'<th scope="col">Attributes</th></tr></thead><tbody>{"".join(rows)}</tbody>'
            "</table></div>")


async def trace(ctx: PageContext, request: web.Request) -> web.Response:
    q = request.query
    fid, cid = ident(q, "file_id"), ident(q, "correlation_id")
    limit = whole(q, "limit", 5, 20)
    form = _FORM.format(fid=e(fid), cid=e(cid))
    tags = ctx.traces.tags(fid, cid)  # both given: BadQuery, a 400 page
    if tags is None:
        return page("Trace", form + "<p>Give a file id or a batch's correlation id.</p>",
                    "trace")
    ids = await ctx.traces.trace_ids(tags, limit)
    parts = [form]
    if not ids:
        parts.append(f"<p>No traces found for {e(tags)} (Jaeger keeps traces in memory: "
                     "they are gone after a restart).</p>")
    for trace_id in ids:
        try:
            roots = await ctx.traces.spans(trace_id)
        except TraceNotFound as exc:
            parts.append(f"<p>{e(exc)}</p>")
            continue
        parts.append(waterfall(trace_id, roots))
    return page("Trace", "".join(parts), "trace")
