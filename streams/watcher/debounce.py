"""Pure debouncing: a path is due once it has been quiet (no change, same size) for a while.

A file being copied fires many modify events; publishing each would analyse a half-written
file. We wait until the path has had no events for `settle_s` and its size stopped changing.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class _Pending:
    last_event: float
    last_size: int | None = None


@dataclass
class Debouncer:
    settle_s: float = 2.0
    _pending: dict[str, _Pending] = field(default_factory=dict)

    def touch(self, path: str, now: float) -> None:
        entry = self._pending.get(path)
        if entry is None:
            self._pending[path] = _Pending(now)
        else:
            entry.last_event = now

    def forget(self, path: str) -> None:
        self._pending.pop(path, None)

    def due(self, now: float, sizes: dict[str, int | None]) -> list[str]:
        """Paths quiet for `settle_s` whose size equals the size seen at the previous check.

        `sizes` holds the current size of each pending path (None if it vanished). A path
        whose size changed is re-armed, so a slow copy without events is still caught.
        """
        ready = []
        for path, entry in list(self._pending.items()):
            if now - entry.last_event < self.settle_s:
                continue
            size = sizes.get(path)
            if size is None:
                self.forget(path)  # vanished before settling: the delete event covers it
            elif size == entry.last_size:
                ready.append(path)
                self.forget(path)
            else:
                entry.last_size = size
                entry.last_event = now
        return sorted(ready)

    def pending(self) -> list[str]:
        return sorted(self._pending)
