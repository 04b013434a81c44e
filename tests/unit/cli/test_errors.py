"""Read-layer refusals on the command line: usage errors in the CLI's option spelling."""

from __future__ import annotations

import pytest
import typer

from projections.reads import NotAnalysed, parse_tolerance, track_query
from streams.cli.errors import cli_option, usage_errors


def test_bad_queries_name_the_option() -> None:
    assert cli_option("bpm_tolerance") == "--bpm-tolerance"
    with pytest.raises(typer.BadParameter) as caught, usage_errors():
        parse_tolerance("abc")
    assert caught.value.message == "--bpm-tolerance: not a number: 'abc'"
    with pytest.raises(typer.BadParameter) as caught, usage_errors():
        track_query(None, None, None, None, "bogus", 5)
    assert caught.value.message.startswith("--status must be one of queued, analysing")
    with pytest.raises(typer.BadParameter) as caught, usage_errors():
        track_query("H", None, None, None, None, 5)
    assert caught.value.message.startswith("not a key: 'H'")


def test_an_unanalysed_track_is_a_usage_error_with_its_message() -> None:
    with pytest.raises(typer.BadParameter) as caught, usage_errors():
        raise NotAnalysed("'x' has no key/tempo yet (not analysed)")
    assert caught.value.message == "'x' has no key/tempo yet (not analysed)"
