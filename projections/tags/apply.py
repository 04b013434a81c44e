"""Pure part of the tags projection: the latest AnalysisCompleted per file, as tag values.

Only AnalysisCompleted matters (the tags describe a finished analysis); within a batch the
latest per file wins by `(occurred_at, event_id)`, the same order the writer uses across
batches (ours.Version), so a file is written at most once per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from projections.base import Positioned
from projections.redis.apply import micros
from schemas.analysis_events import AnalysisCompleted
from streams.tags.ours import Version
from streams.tags.values import KeyNotation, TagValues, tag_values


@dataclass(frozen=True)
class TagTarget:
    """Write `values` into the file at `path` if it still holds the audio `content_hash`."""

    file_id: str
    path: str
    content_hash: str
    analyzer_version: int
    version: Version
    values: TagValues


@dataclass(frozen=True)
class TagIntents:
    targets: tuple[TagTarget, ...]

    def __len__(self) -> int:
        return len(self.targets)


def target_of(event: AnalysisCompleted, notation: KeyNotation) -> TagTarget:
    p, f = event.payload, event.payload.features
    values = tag_values(f.bpm, f.key, f.scale, f.camelot, f.open_key, f.replay_gain_db,
                        f.peak_dbfs, f.loudness_lufs, notation)
    return TagTarget(event.file_id, p.path, p.content_hash, f.analyzer_version,
                     (micros(event.occurred_at), event.event_id), values)


class TagsProjector:
    """Projector "tags": positioned events to one TagTarget per analysed file. No I/O."""

    name = "tags"

    def __init__(self, notation: KeyNotation = "standard") -> None:
        self.notation = notation

    def apply(self, batch: Sequence[Positioned]) -> TagIntents:
        latest: dict[str, TagTarget] = {}
        for positioned in batch:
            event = positioned.event
            if not isinstance(event, AnalysisCompleted):
                continue
            target = target_of(event, self.notation)
            held = latest.get(target.file_id)
            if held is None or target.version > held.version:
                latest[target.file_id] = target
        return TagIntents(tuple(sorted(latest.values(), key=lambda t: t.path)))
