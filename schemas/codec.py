"""The one codec: JSON via msgspec for every event on every transport, with version upcasting."""

from __future__ import annotations

from typing import Any

import msgspec

from schemas.analysis_events import AnalysisCompleted, AnalysisFailed, AnalysisStarted
from schemas.envelope import Event, SchemaError
from schemas.file_events import (
    AnalysisRequested,
    FileDeleted,
    FileDiscovered,
    FileModified,
    FileMoved,
)
from schemas.upcasters import upcast

EVENT_TYPES: dict[str, type[Event]] = {
    cls.__struct_config__.tag: cls  # type: ignore[misc]
    for cls in (FileDiscovered, FileModified, FileMoved, FileDeleted, AnalysisRequested,
                AnalysisStarted, AnalysisCompleted, AnalysisFailed)
}

AnyEvent = (FileDiscovered | FileModified | FileMoved | FileDeleted | AnalysisRequested
            | AnalysisStarted | AnalysisCompleted | AnalysisFailed)


class _Head(msgspec.Struct):
    """Only the fields needed to route a message; msgspec skips the rest without parsing it."""

    event_type: str
    schema_version: int


_encoder = msgspec.json.Encoder()
_head_decoder = msgspec.json.Decoder(_Head)
_decoders: dict[str, msgspec.json.Decoder[Any]] = {
    name: msgspec.json.Decoder(cls) for name, cls in EVENT_TYPES.items()
}


def encode(event: Event) -> bytes:
    return _encoder.encode(event)


def peek(data: bytes) -> tuple[str, int]:
    """(event_type, schema_version) of a message, or SchemaError if it is not an event at all."""
    try:
        head = _head_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise SchemaError("malformed", str(exc)) from exc
    return head.event_type, head.schema_version


def decode(data: bytes) -> AnyEvent:
    """Decode and validate one event, upcasting older versions to the current one."""
    event_type, version = peek(data)
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise SchemaError("unknown_event_type", f"unknown event_type {event_type!r}")
    current = cls.SCHEMA_VERSION
    try:
        if version == current:
            return _decoders[event_type].decode(data)  # type: ignore[no-any-return]
        if 1 <= version < current:
            raw = upcast(msgspec.json.decode(data), event_type, version, current)
            return msgspec.convert(raw, cls)  # type: ignore[return-value]
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError) as exc:
        raise SchemaError("invalid", f"{event_type} v{version}: {exc}") from exc
    except KeyError as exc:
        raise SchemaError("unsupported_version",
                          f"no upcaster for {event_type} v{version}") from exc
    raise SchemaError("unsupported_version",
                      f"{event_type} schema_version {version} (this build reads <= {current})")
