"""`tracktion trace` reads through the read layer's TraceReads: its searches, its span trees."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from infra.jaeger_query import SpanNode, span_tree
from projections.reads import TraceReads
from streams.cli import trace_cmd

app = typer.Typer()
app.command()(trace_cmd.trace)

TRACE = {"processes": {"p1": {"serviceName": "pub"}},
         "spans": [{"spanID": "r", "operationName": "publish", "startTime": 1000,
                    "duration": 500, "references": [], "processID": "p1", "tags": []}]}


@pytest.fixture
def searched(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    seen: list[dict[str, str]] = []

    async def trace_ids(_: TraceReads, tags: dict[str, str], limit: int) -> list[str]:
        seen.append(tags)
        return ["t1", "t2", "t3"][:limit] if tags.get("correlation_id") == "c1" else []

    async def spans(_: TraceReads, trace_id: str) -> list[SpanNode]:
        return span_tree(TRACE)

    monkeypatch.setattr(TraceReads, "trace_ids", trace_ids)
    monkeypatch.setattr(TraceReads, "spans", spans)
    return seen


def test_prints_each_found_trace_through_the_reader(searched: list[dict[str, str]]) -> None:
    result = CliRunner().invoke(app, ["c1", "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert searched == [{"correlation_id": "c1"}]
    assert result.output.count("/api/traces/t") == 2 and "publish  [pub]" in result.output


def test_nothing_found_exits_1(searched: list[dict[str, str]]) -> None:
    fid = "1ba60215-5bf6-5f8e-b215-7ca4a32cb9cc"
    result = CliRunner().invoke(app, [fid])
    assert result.exit_code == 1 and "no traces found" in result.output
    assert searched == [{"file_id": fid}]
