"""Pure part of the tags projection: the latest AnalysisCompleted per file.

Only AnalysisCompleted matters (the tags describe a finished analysis); within a batch the
latest per file wins by `(occurred_at, event_id)`, the same order the writer uses across
batches (its record's "applied" version), so a file is written at most once per batch.
Turning features into tag text (notation included) is the writer's: it is configuration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from projections.base import Positioned, stamp
from schemas.analysis_events import AnalysisCompleted, Features

Version = tuple[int, str]  # the event's stamp as (occurred_at in us since the epoch, event_id)


def version_of(event: AnalysisCompleted) -> Version:
    s = stamp(event)
    return s.at_us, s.event_id


@dataclass(frozen=True)
class TagTarget:
    """Tag the file at `path` from `features`, if it still holds the audio `content_hash`."""

    file_id: str
    path: str
    content_hash: str
    version: Version
    features: Features


@dataclass(frozen=True)
class TagIntents:
    targets: tuple[TagTarget, ...]

    def __len__(self) -> int:
        return len(self.targets)


class TagsProjector:
    """Projector "tags": positioned events to one TagTarget per analysed file. No I/O."""

    name = "tags"

    def apply(self, batch: Sequence[Positioned]) -> TagIntents:
        latest: dict[str, TagTarget] = {}
        for positioned in batch:
            event = positioned.event
            if not isinstance(event, AnalysisCompleted):
                continue
            p = event.payload
            target = TagTarget(event.file_id, p.path, p.content_hash, version_of(event),
                               p.features)
            held = latest.get(target.file_id)
            if held is None or target.version > held.version:
                latest[target.file_id] = target
        # By path: files of one folder are written together (one leftover sweep each).
        return TagIntents(tuple(sorted(latest.values(), key=lambda t: t.path)))
