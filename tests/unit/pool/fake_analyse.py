"""Stand-in analysers run inside pool children, to test the pool without audio."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


class FakeError(Exception):
    def __init__(self, reason: str, message: str, transient: bool) -> None:
        super().__init__(message)
        self.reason, self.message, self.transient = reason, message, transient


@dataclass
class _Result:
    path: str
    timings: dict[str, float] = field(default_factory=dict)

    def measured(self) -> dict[str, Any]:
        return {"path": self.path}


_hoard: list[bytes] = []


def analyse(path: str) -> _Result:
    kind, _, arg = path.partition(":")
    if kind == "sleep":
        time.sleep(float(arg))
    elif kind == "corrupt":
        raise FakeError("corrupt", "bad header", False)
    elif kind == "crash":
        raise RuntimeError("boom")
    elif kind == "modules":  # what the child has imported, to check what it was spared
        import sys

        return _Result(",".join(sorted(m for m in ("pytest", "_pytest")
                                       if m in sys.modules)))
    elif kind == "grow":
        _hoard.append(b"x" * int(float(arg) * 1024 * 1024))
    return _Result(path)
