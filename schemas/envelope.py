"""The event envelope every event shares, stable file ids, and the priority vocabulary."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

import msgspec

Priority = Literal["high", "normal", "low"]
PRIORITIES: tuple[Priority, ...] = ("high", "normal", "low")

# uuid5 namespace for file ids: changing it would re-key every stream, so it is fixed forever.
FILE_ID_NAMESPACE = uuid.UUID("5b0f3f0e-2b7a-4c1e-9a7c-7f4e1d2a9c10")


class SchemaError(ValueError):
    """An event that cannot be accepted: malformed, unknown type, or unknown version."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


def file_id_for(library_root: str, relative_path: str) -> str:
    """Stable stream id of a file: the same root and relative path always give the same id.

    Absolute paths are not used, so a library mounted elsewhere keeps its ids as long as
    the root is named the same; POSIX separators keep ids equal across platforms.
    """
    rel = relative_path.replace("\\", "/").lstrip("/")
    return str(uuid.uuid5(FILE_ID_NAMESPACE, f"{library_root.rstrip('/')}\x00{rel}"))


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="event_type"):
    """Envelope fields. Subclasses add `payload` and set their tag (the past-tense event type)."""

    SCHEMA_VERSION: ClassVar[int] = 1

    event_id: str
    schema_version: int
    occurred_at: datetime
    file_id: str
    correlation_id: str
    causation_id: str | None = None
    priority: Priority = "normal"

    def __post_init__(self) -> None:
        # msgspec runs this on decode too, so these checks guard the wire as well as callers.
        if not self.event_id or not self.file_id or not self.correlation_id:
            raise ValueError("event_id, file_id and correlation_id must be non-empty")
        offset = self.occurred_at.utcoffset()
        if offset is None or offset.total_seconds() != 0:
            raise ValueError("occurred_at must be timezone-aware UTC")

    @property
    def event_type(self) -> str:
        return str(type(self).__struct_config__.tag)

    @classmethod
    def create(cls, *, file_id: str, correlation_id: str, payload: Any,
               causation_id: str | None = None, priority: Priority = "normal",
               occurred_at: datetime | None = None, event_id: str | None = None) -> Any:
        """Build the current version of this event with fresh id and timestamp."""
        return cls(  # type: ignore[call-arg]
            event_id=event_id or new_id(), schema_version=cls.SCHEMA_VERSION,
            occurred_at=occurred_at or utcnow(), file_id=file_id,
            correlation_id=correlation_id, causation_id=causation_id, priority=priority,
            payload=payload,
        )
