"""AnalysisError: why a file could not be analysed, and whether retrying may help."""

from __future__ import annotations

from typing import Literal, get_args

Reason = Literal["not_found", "empty", "not_audio", "corrupt", "unsupported", "too_short",
                 "silent", "io_error"]
REASONS: tuple[str, ...] = get_args(Reason)


class AnalysisError(Exception):
    """A per-file failure. `transient` is True only when the same call may succeed later."""

    def __init__(self, reason: Reason, message: str, transient: bool = False) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown analysis failure reason {reason!r}")
        super().__init__(f"{reason}: {message}")
        self.reason: Reason = reason
        self.message = message
        self.transient = transient

    def __reduce__(self) -> tuple[type[AnalysisError], tuple[Reason, str, bool]]:
        # Keeps the error picklable across process pools (Exception pickles only args).
        return (AnalysisError, (self.reason, self.message, self.transient))
