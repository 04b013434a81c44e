"""Experiment launcher: `tracktion worker` with extra Faust settings, to measure a proposed fix
before anyone changes production code. Never used outside benchmarks.

    BENCH_FAUST_OVERRIDES='{"broker_max_poll_records": 8}' \
        .venv/bin/python -m benchmarks.pipeline_patched_worker worker --role analysis ...

The overrides are passed as keyword arguments to every `faust.App` the worker creates
(streams/app.py calls `faust.App(...)` at run time, so replacing the class is enough).
"""

from __future__ import annotations

import json
import os
from typing import Any

import faust


def install_overrides() -> dict[str, Any]:
    overrides: dict[str, Any] = json.loads(os.environ.get("BENCH_FAUST_OVERRIDES", "{}"))
    original = faust.App

    class PatchedApp(original):  # type: ignore[misc, valid-type]
        def __init__(self, id: str, **kwargs: Any) -> None:
            super().__init__(id, **{**kwargs, **overrides})

    faust.App = PatchedApp  # type: ignore[misc]
    return overrides


if __name__ == "__main__":
    install_overrides()
    from streams.cli.main import main

    main()
