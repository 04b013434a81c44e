"""File events: what happened to a file in the library, and requests to analyse it."""

from __future__ import annotations

from typing import Literal

import msgspec

from schemas.envelope import Event


class Tags(msgspec.Struct, frozen=True, omit_defaults=True):
    """Tags read from the file (mutagen); every field optional because many files have none."""

    artist: str | None = None
    title: str | None = None
    album: str | None = None
    genre: str | None = None
    year: int | None = None
    track_number: int | None = None


class FileInfo(msgspec.Struct, frozen=True):
    """What analysis and projections need to know about a file at the time of the event.

    `content_hash` is XXH3-128 (hex) of the whole file's bytes: fast enough to be I/O bound,
    and collision-safe for cache keys at library scale.
    """

    path: str
    library_root: str
    relative_path: str
    size: int
    mtime: float
    content_hash: str
    format: str
    tags: Tags = Tags()


class FileDiscoveredPayload(msgspec.Struct, frozen=True):
    file: FileInfo


class FileModifiedPayload(msgspec.Struct, frozen=True):
    file: FileInfo
    previous_hash: str | None = None


class FileMovedPayload(msgspec.Struct, frozen=True):
    """A move gives the file a new stream id (ids derive from paths); the old id is kept here."""

    file: FileInfo
    previous_file_id: str
    previous_path: str


class FileDeletedPayload(msgspec.Struct, frozen=True):
    path: str
    library_root: str
    relative_path: str


AnalysisReason = Literal["new", "changed", "reanalyse"]


class AnalysisRequestedPayload(msgspec.Struct, frozen=True):
    """Ask the agents to analyse a file; `force` bypasses the result cache."""

    file: FileInfo
    reason: AnalysisReason
    force: bool = False


class FileDiscovered(Event, frozen=True, kw_only=True, tag="FileDiscovered"):
    payload: FileDiscoveredPayload


class FileModified(Event, frozen=True, kw_only=True, tag="FileModified"):
    payload: FileModifiedPayload


class FileMoved(Event, frozen=True, kw_only=True, tag="FileMoved"):
    payload: FileMovedPayload


class FileDeleted(Event, frozen=True, kw_only=True, tag="FileDeleted"):
    payload: FileDeletedPayload


class AnalysisRequested(Event, frozen=True, kw_only=True, tag="AnalysisRequested"):
    payload: AnalysisRequestedPayload


FileEvent = FileDiscovered | FileModified | FileMoved | FileDeleted | AnalysisRequested
