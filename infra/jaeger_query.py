"""Read traces back from Jaeger's HTTP query API and arrange their spans as trees."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

PIPELINE_SERVICES = ("tracktion-publish", "tracktion-bridge", "tracktion-analysis",
                     "tracktion-projections", "tracktion-all")


@dataclass
class SpanNode:
    span_id: str
    name: str
    service: str
    start_us: int
    duration_us: int
    attributes: dict[str, Any]
    children: list[SpanNode] = field(default_factory=list)


class JaegerUnreachable(ConnectionError):
    """Jaeger's query API does not answer (not running, or JAEGER_QUERY_URL points elsewhere).
    A ConnectionError, so the pages answer 503 as for any store that is down."""

    def __init__(self, base: str, cause: OSError) -> None:
        super().__init__(f"Jaeger's query API at {base} does not answer "
                         f"({getattr(cause, 'reason', cause)}); start it with "
                         "`tracktion stack up jaeger`, or set JAEGER_QUERY_URL")


def _get(base: str, path: str, params: dict[str, str] | None = None) -> Any:
    """JSON from the query API. An HTTP error status (Jaeger answered) is raised as the
    HTTPError; no answer at all as JaegerUnreachable."""
    url = f"{base.rstrip('/')}{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.load(resp)
    except urllib.error.HTTPError:
        raise
    except OSError as exc:
        raise JaegerUnreachable(base, exc) from exc


def find_trace_ids(base: str, tags: dict[str, str], limit: int = 20,
                   services: tuple[str, ...] = PIPELINE_SERVICES) -> list[str]:
    """Trace ids having a span with all `tags`, searched in each pipeline service.

    A service Jaeger answers an error for is skipped; no answer at all raises
    JaegerUnreachable (it used to read as "no traces found")."""
    found: list[str] = []
    for service in services:
        try:
            data = _get(base, "/api/traces", {"service": service, "tags": json.dumps(tags),
                                              "limit": str(limit), "lookback": "2d"})
        except urllib.error.HTTPError:
            continue
        for trace in data.get("data") or []:
            if trace["traceID"] not in found:
                found.append(trace["traceID"])
    return found


def fetch_trace(base: str, trace_id: str) -> dict[str, Any]:
    try:
        data = _get(base, f"/api/traces/{trace_id}")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise LookupError(f"trace {trace_id} not found in Jaeger") from exc
        raise
    traces = data.get("data") or []
    if not traces:
        raise LookupError(f"trace {trace_id} not found in Jaeger")
    return traces[0]  # type: ignore[no-any-return]


def span_tree(trace: dict[str, Any]) -> list[SpanNode]:
    """Roots of the trace (normally one), children sorted by start time."""
    processes = trace.get("processes", {})
    nodes: dict[str, SpanNode] = {}
    parents: dict[str, str | None] = {}
    for span in trace["spans"]:
        nodes[span["spanID"]] = SpanNode(
            span_id=span["spanID"], name=span["operationName"],
            service=processes.get(span["processID"], {}).get("serviceName", "?"),
            start_us=span["startTime"], duration_us=span["duration"],
            attributes={t["key"]: t["value"] for t in span.get("tags", [])})
        parent = next((r["spanID"] for r in span.get("references", [])
                       if r.get("refType") == "CHILD_OF"), None)
        parents[span["spanID"]] = parent
    roots = []
    for span_id, node in nodes.items():
        parent = parents[span_id]
        if parent in nodes:
            nodes[parent].children.append(node)
        else:
            roots.append(node)
    for node in nodes.values():
        node.children.sort(key=lambda n: n.start_us)
    return sorted(roots, key=lambda n: n.start_us)


def render(roots: list[SpanNode]) -> list[str]:
    """Indented lines: offset from trace start, duration, service, operation."""
    if not roots:
        return []
    origin = min(r.start_us for r in roots)
    lines: list[str] = []

    def walk(node: SpanNode, depth: int) -> None:
        offset_ms = (node.start_us - origin) / 1000
        lines.append(f"{'  ' * depth}{node.name}  [{node.service}]  "
                     f"+{offset_ms:.1f} ms  {node.duration_us / 1000:.1f} ms")
        for child in node.children:
            walk(child, depth + 1)

    for root in roots:
        walk(root, 0)
    return lines
