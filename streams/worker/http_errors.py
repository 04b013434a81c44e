"""One error middleware for the worker's read endpoints (the JSON API and the pages): every
failure answered in the endpoint's own format with the right status, real bugs logged.

Statuses: 400 for a bad parameter, 404 for an unknown track or trace, 409 for a track not
analysed yet, 503 with Retry-After while a store is unreachable, 500 (logged) for anything else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import neo4j.exceptions
import sqlalchemy.exc
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from infra.logging import get_logger
from projections.reads import BadQuery, NotAnalysed, ReadError, TraceNotFound, TrackNotFound

RETRY_AFTER_S = 5
_READ_STATUS: tuple[tuple[type[ReadError], int], ...] = (
    (BadQuery, 400), (TrackNotFound, 404), (TraceNotFound, 404), (NotAnalysed, 409))


class HttpError(Exception):
    """A refusal with its status, raised by handlers and parameter parsers."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def store_unreachable(exc: BaseException) -> bool:
    """Connection-level failures of a store (worth a retry), not errors in the request."""
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        return exc.connection_invalidated or isinstance(
            exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError) or \
            store_unreachable(exc.orig)  # type: ignore[arg-type]
    return isinstance(exc, OSError | TimeoutError | sqlalchemy.exc.TimeoutError
                      | asyncpg.exceptions.PostgresConnectionError
                      | asyncpg.exceptions.CannotConnectNowError
                      | neo4j.exceptions.ServiceUnavailable | neo4j.exceptions.SessionExpired)


def missing_read_model(exc: BaseException) -> bool:
    """A schema or table not created yet (a fresh namespace), not a bug in the request."""
    return isinstance(exc, sqlalchemy.exc.ProgrammingError) and \
        isinstance(exc.orig, Exception) and "does not exist" in str(exc.orig)


@dataclass(frozen=True)
class ErrorAnswers:
    """How one family of routes answers its failures."""

    name: str  # "api" or "page": logged as <name>_store_unreachable, <name>_request_failed
    logger: str  # the logger's name
    covers: Callable[[str], bool]  # does a request path belong to this family?
    render: Callable[[int, str], web.StreamResponse]  # (status, message) -> the answer
    retry_hint: str  # how the 503's message ends
    # The pages say how to create a missing read model; the API has always answered 500.
    missing_read_model: str | None = None


def _refusal(exc: Exception) -> HttpError | None:
    if isinstance(exc, HttpError):
        return exc
    for kind, status in _READ_STATUS:
        if isinstance(exc, kind):
            return HttpError(status, exc.message)
    return None


def error_middleware(answers: ErrorAnswers) -> Middleware:
    log = get_logger(answers.logger)

    @web.middleware
    async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not answers.covers(request.path):
            return await handler(request)
        try:
            for name, value in request.query.items():
                if "\x00" in name or "\x00" in value:
                    raise HttpError(400, f"{name.replace(chr(0), '')!r} contains a NUL byte")
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception as exc:
            return _answer(answers, log, request, exc)

    return errors


def _answer(answers: ErrorAnswers, log: Any, request: web.Request,
            exc: Exception) -> web.StreamResponse:
    refusal = _refusal(exc)
    if refusal is not None:
        return answers.render(refusal.status, refusal.message)
    if answers.missing_read_model is not None and missing_read_model(exc):
        return answers.render(503, answers.missing_read_model)
    if store_unreachable(exc):
        log.warning(f"{answers.name}_store_unreachable", path=request.path, error=repr(exc))
        response = answers.render(
            503, f"a store is unreachable ({type(exc).__name__}); {answers.retry_hint}")
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response
    log.error(f"{answers.name}_request_failed", path=request.path, exc_info=exc)
    return answers.render(500, "internal error (logged on the server)")
