"""Structured logging: JSON lines (or a console renderer on a TTY) with service and trace ids."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

_configured = False


def _add_trace_ids(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Join logs to traces: copy the current span's ids onto every line when a span is active."""
    try:
        from opentelemetry import trace
    except ImportError:  # pragma: no cover - opentelemetry is a hard dependency
        return event_dict
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        event_dict.setdefault("trace_id", format(ctx.trace_id, "032x"))
        event_dict.setdefault("span_id", format(ctx.span_id, "016x"))
    return event_dict


def configure_logging(service: str, level: str = "INFO", fmt: str = "auto") -> None:
    """Configure structlog and stdlib logging once per process.

    `fmt` is json, console, or auto (console on a TTY, JSON otherwise, so pipes and log
    shippers always get one JSON object per line).
    """
    global _configured
    use_console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer: Any = (structlog.dev.ConsoleRenderer() if use_console
                     else structlog.processors.JSONRenderer())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_trace_ids,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    if not _configured:
        # Library logs (aiokafka, neo4j, faust) go through the same JSON shape.
        handler = logging.StreamHandler(sys.stderr)
        # format_exc_info here too: without it a library's logger.exception() rendered its
        # exc_info tuple as "<traceback object at 0x...>" and the stack trace was lost.
        handler.setFormatter(structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                        structlog.processors.format_exc_info, renderer],
            foreign_pre_chain=shared))
        root = logging.getLogger()
        root.handlers[:] = [handler]
        root.setLevel(logging.WARNING)
    _configured = True


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
