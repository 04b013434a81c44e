"""A file's or a batch's traces from Jaeger's query API, as span trees.

Finding and arranging the spans is infra/jaeger_query.py's; `tracktion trace` and the Trace
page both read through this reader. It picks the search from the caller's parameters and
turns Jaeger's answers into the read layer's errors. urllib blocks, so every call runs in a
thread.
"""

from __future__ import annotations

import asyncio

from infra.jaeger_query import SpanNode, fetch_trace, find_trace_ids, span_tree
from infra.settings import Settings
from projections.reads.closing import Closing
from projections.reads.errors import BadQuery, TraceNotFound


class TraceReads(Closing):
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    @classmethod
    def open(cls, settings: Settings) -> TraceReads:
        return cls(settings.jaeger_query_url)

    async def close(self) -> None:
        """Nothing to close: each query opens its own HTTP connection."""

    @staticmethod
    def tags(file_id: str | None, correlation_id: str | None) -> dict[str, str] | None:
        """The span tags to search for: a file's or a batch's; None when neither is given."""
        if file_id and correlation_id:
            raise BadQuery(None, "give file_id or correlation_id, not both")
        if file_id:
            return {"file_id": file_id}
        if correlation_id:
            return {"correlation_id": correlation_id}
        return None

    async def trace_ids(self, tags: dict[str, str], limit: int) -> list[str]:
        """Up to `limit` ids of traces having a span with all `tags`."""
        found = await asyncio.to_thread(find_trace_ids, self.base_url, tags, limit)
        return found[:limit]

    async def spans(self, trace_id: str) -> list[SpanNode]:
        """The roots of one trace's span tree (normally one)."""
        try:
            data = await asyncio.to_thread(fetch_trace, self.base_url, trace_id)
        except LookupError as exc:
            raise TraceNotFound(str(exc)) from exc
        return span_tree(data)
