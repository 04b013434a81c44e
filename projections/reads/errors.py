"""The read layer's domain errors: what a caller asked for is absent, not ready, or malformed.

Entrypoints map them to their own answers (a CLI usage error, an HTTP status, an error
page); none of them is a store failure, which stays the driver's own exception.
"""

from __future__ import annotations

from collections.abc import Callable


class ReadError(Exception):
    """Base of the errors a read raises because of what was asked, not because of a store."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TrackNotFound(ReadError):
    """No track with that file id or path in the namespace."""


class NotAnalysed(ReadError):
    """The track exists but has no key/tempo yet."""


class TraceNotFound(ReadError, LookupError):
    """Jaeger has no trace with that id (it keeps traces in memory only). A LookupError too,
    as infra/jaeger_query.py's own "not found" is."""


class BadQuery(ReadError, ValueError):
    """A query parameter the read layer cannot use.

    `param` is the parameter's name (snake_case; None when the text names none) and the
    message reads `<param><sep><detail>`, so each entrypoint can spell the name its own
    way (`--bpm-tolerance` on the command line, `bpm_tolerance` in a URL). A ValueError
    too: callers that validated with `except ValueError` keep working.
    """

    def __init__(self, param: str | None, detail: str, sep: str = " ") -> None:
        self.param, self.detail, self.sep = param, detail, sep
        # The plain message keeps the snake_case name: the API's and the pages' spelling.
        super().__init__(self.worded(str))

    def worded(self, name: Callable[[str], str]) -> str:
        """The message with the parameter spelled by `name`."""
        return self.detail if self.param is None else f"{name(self.param)}{self.sep}{self.detail}"
