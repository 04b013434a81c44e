"""Map connection failures to a clear message that names the service and how to start it."""

from __future__ import annotations

import sys
from collections.abc import Callable

from rich.console import Console

from infra.settings import ConfigurationError

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
