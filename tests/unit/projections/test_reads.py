"""The read layer's pure parts: parameters to queries or BadQuery, and the seed checks of the
graph reads against a stand-in driver (no store)."""

from __future__ import annotations

from typing import Any

import pytest

from projections.reads import (
    BadQuery,
    GraphReads,
    NotAnalysed,
    TrackNotFound,
    check_tolerance,
    parse_tolerance,
    track_query,
)


def test_a_track_query_parses_every_filter() -> None:
    q = track_query("Am", "8A", "120..128", "daft", "analysed", 10, "0.6")
    assert q.key is not None and q.key.as_camelot() == "8A"
    assert set(q.compatible_with) == {"8A", "9A", "7A", "8B"}
    assert (q.bpm, q.search, q.status, q.min_confidence, q.limit) == (
        (120.0, 128.0), "daft", "analysed", 0.6, 10)


@pytest.mark.parametrize(("args", "param", "words"), [
    ({"status": "bogus"}, "status", "status must be one of queued"),
    ({"limit": 0}, "limit", "limit must be at least 1"),
    ({"key": "H"}, None, "not a key: 'H'"),
    ({"compatible_with": "13C"}, None, "not a key"),
    ({"bpm": "fast"}, None, "not a BPM range: 'fast'"),
    ({"bpm": "130..120"}, None, "empty BPM range"),
    ({"min_confidence": "sure"}, None, "not a confidence"),
    ({"min_confidence": 1.5}, None, "confidence must be between 0 and 1"),
])
def test_bad_filters_are_bad_queries_naming_the_parameter(
        args: dict[str, Any], param: str | None, words: str) -> None:
    base: dict[str, Any] = {"key": None, "compatible_with": None, "bpm": None, "search": None,
                            "status": None, "limit": 50}
    with pytest.raises(BadQuery) as caught:
        track_query(**{**base, **args})
    assert caught.value.param == param and words in caught.value.message
    assert isinstance(caught.value, ValueError)  # callers catching ValueError still do


@pytest.mark.parametrize(("text", "value"), [("6%", 0.06), ("6", 0.06), ("0.06", 0.06),
                                             (" 30% ", 0.3), ("0", 0.0)])
def test_tolerances_read_percent_or_fraction(text: str, value: float) -> None:
    assert parse_tolerance(text) == pytest.approx(value)


def test_a_bad_tolerance_is_worded_for_each_entrypoint() -> None:
    with pytest.raises(BadQuery) as caught:
        parse_tolerance("abc")
    assert caught.value.message == "bpm_tolerance: not a number: 'abc'"
    assert caught.value.worded(lambda p: "--" + p.replace("_", "-")) == \
        "--bpm-tolerance: not a number: 'abc'"
    for bad in ("50%", "0.31", "-1"):
        with pytest.raises(BadQuery, match="bpm_tolerance must be between 0% and 30%"):
            parse_tolerance(bad)
    with pytest.raises(BadQuery):
        check_tolerance(0.5)


class FakeDriver:
    """Answers FIND_TRACK with one prepared record (or none); any other query fails."""

    def __init__(self, track: dict[str, Any] | None) -> None:
        self.track, self.closed = track, False

    async def execute_query(self, query: str, params: dict[str, Any],
                            **_: Any) -> tuple[list[dict[str, Any]], None, None]:
        assert params["ref"] == "/m/a.mp3", "only the seed lookup is expected"
        return ([] if self.track is None else [{"track": self.track}]), None, None

    async def close(self) -> None:
        self.closed = True


TRACK = {"file_id": "f1", "path": "/m/a.mp3", "title": None, "artist": None, "bpm": None,
         "camelot": None, "key": None, "scale": None, "energy": None}


async def test_graph_reads_refuse_unknown_and_unanalysed_seeds() -> None:
    driver = FakeDriver(None)
    async with GraphReads(driver, "ns1") as reads:  # type: ignore[arg-type]
        with pytest.raises(TrackNotFound) as caught:
            await reads.mix("/m/a.mp3", 0.06, 5)
    assert caught.value.message == "no track with file_id or path '/m/a.mp3' in namespace 'ns1'"
    assert driver.closed
    async with GraphReads(FakeDriver(TRACK), "ns1") as reads:  # type: ignore[arg-type]
        with pytest.raises(NotAnalysed, match="has no key/tempo yet"):
            await reads.playlist("/m/a.mp3", 0.06, 5)
        with pytest.raises(BadQuery):  # refused before any query
            await reads.mix("/other", 0.5, 5)


def test_trace_reads_search_a_file_or_a_batch_never_both() -> None:
    from projections.reads import TraceReads

    assert TraceReads.tags("f1", None) == {"file_id": "f1"}
    assert TraceReads.tags(None, "c1") == {"correlation_id": "c1"}
    assert TraceReads.tags(None, None) is None
    with pytest.raises(BadQuery, match="not both"):
        TraceReads.tags("f1", "c1")


async def test_a_missing_trace_is_trace_not_found(monkeypatch: pytest.MonkeyPatch) -> None:
    import projections.reads.traces as traces
    from projections.reads import TraceNotFound, TraceReads

    def absent(base: str, trace_id: str) -> dict[str, Any]:
        raise LookupError(f"trace {trace_id} not found in Jaeger")

    monkeypatch.setattr(traces, "fetch_trace", absent)
    with pytest.raises(TraceNotFound, match="trace t1 not found in Jaeger"):
        await TraceReads("http://127.0.0.1:1").spans("t1")
