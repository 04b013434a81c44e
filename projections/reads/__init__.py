"""The read layer: every query the entrypoints answer (CLI, JSON API, pages), in one place.

Views in the cosmicpython sense: plain reads over the projections' stores returning plain
data, raising domain errors (errors.py) rather than any entrypoint's own. Imports no CLI,
HTTP or worker code (tests/unit/test_import_direction.py).
"""

from projections.reads.errors import (
    BadQuery,
    NotAnalysed,
    ReadError,
    TraceNotFound,
    TrackNotFound,
)
from projections.reads.graph import GraphReads
from projections.reads.params import (
           DEFAULT_TOLERANCE,
           check_tolerance,
           parse_tolerance,
           track_query,
)
from projections.reads.progress import ProgressReads
from projections.reads.reader import Reads
from projections.reads.traces import TraceReads
from projections.reads.tracks import TrackDetail, TrackReads

__all__ = ["DEFAULT_TOLERANCE", "BadQuery", "GraphReads", "NotAnalysed", "ProgressReads",
           "ReadError", "Reads", "TraceNotFound", "TraceReads", "TrackDetail", "TrackNotFound",
           "TrackReads", "check_tolerance", "parse_tolerance", "track_query"]
