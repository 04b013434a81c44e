"""Map failures to clear CLI messages: a connection failure names the service and how to
start it; a read the read layer refuses is a usage error worded with the CLI's options."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from infra.settings import ConfigurationError
from projections.reads import BadQuery, ReadError

HINT = "Is the local stack up? Start it with `make stack-up` or `tracktion stack up`."


def _is_connection_error(exc: BaseException) -> bool:
    names = {cls.__name__ for cls in type(exc).__mro__}
    # Not every OSError: a taken port or a missing file must show its own message.
    return bool(names & {"KafkaConnectionError", "ConnectionError", "AMQPConnectionError",
                         "ServiceUnavailable", "ConnectionRefusedError",
                         "CannotConnectNowError", "gaierror"})


def run_with_friendly_errors(app: Callable[[], object]) -> None:
    try:
        app()
    except ConfigurationError as exc:  # the message already says what to change
        Console(stderr=True).print(f"[red]error:[/red] {exc}")
        sys.exit(2)
    except Exception as exc:
        if not _is_connection_error(exc):
            raise
        Console(stderr=True).print(f"[red]error:[/red] {type(exc).__name__}: {exc}\n{HINT}")
        sys.exit(2)


def cli_option(param: str) -> str:
    """The read layer's parameter names as options: bpm_tolerance -> --bpm-tolerance."""
    return "--" + param.replace("_", "-")


@contextmanager
def usage_errors() -> Iterator[None]:
    """Domain errors of the reads inside as typer usage errors (exit code 2)."""
    try:
        yield
    except BadQuery as exc:
        raise typer.BadParameter(exc.worded(cli_option)) from exc
    except ReadError as exc:  # an unknown or unanalysed track: the argument is at fault
        raise typer.BadParameter(exc.message) from exc
