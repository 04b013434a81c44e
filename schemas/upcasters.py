"""Upcasters: pure functions that lift an old event version's JSON dict to the next version.

Published versions are never edited. When `FileDiscovered` gets a version 2, add
`upcast_file_discovered_v1_v2(raw) -> raw` here, register it under ("FileDiscovered", 1),
bump `FileDiscovered.SCHEMA_VERSION`, and commit a golden v2 sample beside the v1 one.
The codec applies upcasters in a chain until the current version is reached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Raw = dict[str, Any]
Upcaster = Callable[[Raw], Raw]


def upcast_analysis_completed_v1_v2(raw: Raw) -> Raw:
    """v2 added `features.tuning_cents`; v1 analysers did not measure it, so it is None
    (unknown), never 0 (which would claim the recording is tuned to A = 440 Hz)."""
    payload = raw["payload"]
    features = {**payload["features"], "tuning_cents": None}
    return {**raw, "payload": {**payload, "features": features}}


GRID_FIELDS = ("first_beat_s", "grid_confidence", "downbeat_s", "beats_per_bar")


def upcast_analysis_completed_v2_v3(raw: Raw) -> Raw:
    """v3 added the beat grid. v2 analysers did not look for one, so every grid field is
    None (unknown); `grid_confidence` too, since 0 would claim a grid was sought and missed."""
    payload = raw["payload"]
    features = {**payload["features"], **dict.fromkeys(GRID_FIELDS)}
    return {**raw, "payload": {**payload, "features": features}}


def upcast_analysis_completed_v3_v4(raw: Raw) -> Raw:
    """v4 added the Chromaprint `fingerprint`; v3 results have none (None)."""
    payload = raw["payload"]
    features = {**payload["features"], "fingerprint": None}
    return {**raw, "payload": {**payload, "features": features}}


def upcast_analysis_failed_v1_v2(raw: Raw) -> Raw:
    """v2 only widened the reasons (`silent`); a v1 event is a valid v2 event as it is."""
    return dict(raw)


#: (event_type, from_version) -> function returning the dict at from_version + 1.
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("AnalysisCompleted", 1): upcast_analysis_completed_v1_v2,
    ("AnalysisCompleted", 2): upcast_analysis_completed_v2_v3,
    ("AnalysisCompleted", 3): upcast_analysis_completed_v3_v4,
    ("AnalysisFailed", 1): upcast_analysis_failed_v1_v2,
}


def upcast(raw: Raw, event_type: str, version: int, target: int) -> Raw:
    """Apply registered upcasters from `version` up to `target`; raise KeyError on a gap."""
    while version < target:
        raw = UPCASTERS[(event_type, version)](raw)
        version += 1
        raw["schema_version"] = version
    return raw
