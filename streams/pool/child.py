"""The analysis worker process: receives paths over a pipe, returns features or a failure."""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from streams.pool.reply import READY, Analysed, AnalysisResult, Failed, Reply

# Messages: the parent sends a path (str) or None (exit); the child sends READY once, then
# answers each path with a Reply.


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        resident_pages = int(fh.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


# The analysis, then the Chromaprint fingerprint (streams/pool/job.py).
DEFAULT_ANALYSE = "streams.pool.job:analyse_and_fingerprint"


def _load(ref: str) -> Any:
    module, name = ref.split(":")
    return getattr(importlib.import_module(module), name)


def _failure(exc: Exception) -> Failed:
    """The analyser's own errors carry reason/message/transient; anything else is a bug or an
    unexpected library error, reported as `internal` while the worker keeps serving."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str):
        return Failed(reason, str(getattr(exc, "message", exc)),
                      bool(getattr(exc, "transient", False)))
    return Failed("internal", f"{type(exc).__name__}: {exc}"[:300], False)


def _analysed(result: AnalysisResult, path: str, hash_of: Callable[[Path], str]) -> Analysed:
    # The hash of the bytes actually analysed: the event's hash may be stale if the file
    # changed after it was published, and cache entries must match content.
    actual = None
    with contextlib.suppress(OSError):  # gone since: the event's hash stands
        actual = hash_of(Path(path))
    return Analysed(result.measured(), dict(result.timings), actual)


def child_main(conn: Connection, analyse_ref: str = DEFAULT_ANALYSE) -> None:
    # The parent owns shutdown: Ctrl-C in a terminal reaches the whole process group, and the
    # child must finish the file it is on rather than die mid-analysis.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    analyse_file = _load(analyse_ref)
    from streams.publishing.fileinfo import content_hash
    # Imports (Essentia, numpy) take seconds; say when they are done so the parent's
    # per-file timeout measures analysis, not interpreter start-up.
    conn.send(READY)

    while True:
        try:
            path = conn.recv()
        except EOFError:
            return
        if path is None:
            return
        outcome: Analysed | Failed
        try:
            outcome = _analysed(analyse_file(path), path, content_hash)
        except MemoryError:
            outcome = Failed("memory", "out of memory while analysing", False)
        except Exception as exc:
            outcome = _failure(exc)
        conn.send(Reply(outcome, rss_mb()))
