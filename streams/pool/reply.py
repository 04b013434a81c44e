"""What crosses the pipe between a pool child and the parent: typed, picklable replies.

The parent (the analysis role) must not import the analyser to unpickle a reply: that
would load Essentia and numpy into a process that never analyses. So this module imports
nothing heavy, and an analysis crosses as its measured values by name; the handler
validates them against the event schema (streams/agents/features.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class AnalysisResult(Protocol):
    """What the child's analyse function returns (streams/analysis/core.py::FileAnalysis)."""

    @property
    def timings(self) -> Mapping[str, float]: ...

    def measured(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Analysed:
    """A file analysed. Read-only: the result cache may hold what is built from it."""

    measured: Mapping[str, Any]  # the schema's Features fields by name, not yet validated
    timings: Mapping[str, float]  # CPU seconds per stage, for the duration metrics
    content_hash: str | None  # of the bytes analysed; None if the file went away since


@dataclass(frozen=True)
class Failed:
    """A file not analysed, with the analyser's reason (schemas' FailureReason)."""

    reason: str
    message: str
    transient: bool


@dataclass(frozen=True)
class Reply:
    """A child's answer to one path, with its resident memory (the parent recycles a child
    that has grown past MAX_MEMORY_MB)."""

    outcome: Analysed | Failed
    rss_mb: float


# The first message of every child: its imports are done, so the parent's per-file timeout
# measures analysis from here on, not interpreter start-up.
READY = "ready"
