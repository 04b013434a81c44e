"""JSON log lines carry real tracebacks, for our loggers and for libraries' stdlib loggers."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import logging
from infra.logging import configure_logging, get_logger
configure_logging("t", fmt="json")
try:
    1 / 0
except ZeroDivisionError as exc:
    logging.getLogger("aiohttp.server").exception("Error handling request")
    get_logger("ours").error("ours_failed", exc_info=exc)
"""


def test_exceptions_are_logged_as_tracebacks_not_object_reprs() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         check=True).stderr
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [line["event"] for line in lines] == ["Error handling request", "ours_failed"]
    for line in lines:
        assert "traceback object" not in json.dumps(line)
        assert line["exception"].startswith("Traceback (most recent call last):")
        assert line["exception"].endswith("ZeroDivisionError: division by zero")
