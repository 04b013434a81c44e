"""The analysis worker process: receives paths over a pipe, returns features or a failure."""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

# Messages: parent sends a path (str) or None (exit); child replies with one of
#   ("ok", features_dict, rss_mb) | ("err", (reason, message, transient), rss_mb)
Reply = tuple[str, Any, float]


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        resident_pages = int(fh.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


# The analysis, then the Chromaprint fingerprint (streams/pool/job.py).
DEFAULT_ANALYSE = "streams.pool.job:analyse_and_fingerprint"


def _load(ref: str) -> Any:
    module, name = ref.split(":")
    return getattr(importlib.import_module(module), name)


def _failure(exc: Exception) -> tuple[str, str, bool]:
    """The analyser's own errors carry reason/message/transient; anything else is a bug or an
    unexpected library error, reported as `internal` while the worker keeps serving."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str):
        return reason, str(getattr(exc, "message", exc)), bool(getattr(exc, "transient", False))
    return "internal", f"{type(exc).__name__}: {exc}"[:300], False


def child_main(conn: Connection, analyse_ref: str = DEFAULT_ANALYSE) -> None:
    # The parent owns shutdown: Ctrl-C in a terminal reaches the whole process group, and the
    # child must finish the file it is on rather than die mid-analysis.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    analyse_file = _load(analyse_ref)
    from streams.publishing.fileinfo import content_hash
    # Imports (Essentia, numpy) take seconds; say when they are done so the parent's
    # per-file timeout measures analysis, not interpreter start-up.
    conn.send(("ready", None, rss_mb()))

    while True:
        try:
            path = conn.recv()
        except EOFError:
            return
        if path is None:
            return
        reply: Reply
        try:
            features = analyse_file(path).to_dict()
            # The hash of the bytes actually analysed: the event's hash may be stale if the
            # file changed after it was published, and cache entries must match content.
            with contextlib.suppress(OSError):  # gone since: the event's hash stands
                features["_content_hash"] = content_hash(Path(path))
            reply = ("ok", features, rss_mb())
        except MemoryError:
            reply = ("err", ("memory", "out of memory while analysing", False), rss_mb())
        except Exception as exc:
            reply = ("err", _failure(exc), rss_mb())
        conn.send(reply)
