"""Pure audio analysis: `core.analyse_file(path) -> FileAnalysis` or `errors.AnalysisError`.

Deliberately empty: importing `streams.analysis.version` (the analysis worker needs only
that constant) must not load Essentia and numpy through this package's `__init__`. That
import cost the worker's main process, which never analyses, ~78 MB of RSS.
Import from the submodules: `core`, `errors`, `version`.
"""
