from __future__ import annotations

from infra.jaeger_query import render, span_tree


def _span(sid: str, name: str, start: int, dur: int, parent: str | None, proc: str) -> dict:
    refs = [{"refType": "CHILD_OF", "spanID": parent}] if parent else []
    return {"spanID": sid, "operationName": name, "startTime": start, "duration": dur,
            "references": refs, "processID": proc, "tags": [{"key": "k", "value": sid}]}


def test_span_tree_nests_children_in_start_order_and_renders_offsets() -> None:
    trace = {"processes": {"p1": {"serviceName": "pub"}, "p2": {"serviceName": "ana"}},
             "spans": [_span("c2", "write", 5000, 1000, "a", "p2"),
                       _span("a", "analyse", 2000, 6000, "r", "p2"),
                       _span("r", "publish", 1000, 500, None, "p1"),
                       _span("c1", "pool", 3000, 1000, "a", "p2")]}
    (root,) = span_tree(trace)
    assert root.name == "publish" and root.service == "pub"
    assert [c.name for c in root.children[0].children] == ["pool", "write"]
    lines = render([root])
    assert lines[0].startswith("publish  [pub]  +0.0 ms")
    assert lines[2] == "    pool  [ana]  +2.0 ms  1.0 ms"


def test_trace_links_point_at_the_json_api_not_the_placeholder_ui() -> None:
    from streams.cli.trace_cmd import NO_UI_NOTE, trace_header

    line = trace_header("http://127.0.0.1:16686/", "abc")
    assert line.endswith("http://127.0.0.1:16686/api/traces/abc") and "/trace/abc" not in line
    assert "/trace?correlation_id=" in NO_UI_NOTE
