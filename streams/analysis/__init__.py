"""Pure audio analysis: `analyse_file(path) -> Features` or `AnalysisError(reason, ...)`."""

from streams.analysis.core import MIN_DURATION_S, Features, analyse_file
from streams.analysis.errors import REASONS, AnalysisError
from streams.analysis.version import ANALYZER_VERSION

__all__ = ["ANALYZER_VERSION", "MIN_DURATION_S", "REASONS", "AnalysisError", "Features",
           "analyse_file"]
