"""The `--priority auto` rule: small files first, because they finish fastest.

A user's explicit priority always wins. Otherwise, by size: up to 4 MiB (short clips,
low-bit-rate files) is high; up to 64 MiB (ordinary tracks, lossless included) is normal;
anything larger (DJ mixes, multi-hour recordings, hi-res masters) is low, so one long file
never delays hundreds of short ones.
"""

from __future__ import annotations

from typing import Literal

from schemas.envelope import Priority

HIGH_MAX_BYTES = 4 * 1024 * 1024
NORMAL_MAX_BYTES = 64 * 1024 * 1024

PriorityChoice = Literal["high", "normal", "low", "auto"]


def priority_for(size: int, requested: PriorityChoice = "auto") -> Priority:
    if requested != "auto":
        return requested
    if size <= HIGH_MAX_BYTES:
        return "high"
    if size <= NORMAL_MAX_BYTES:
        return "normal"
    return "low"


AMQP_PRIORITY: dict[Priority, int] = {"high": 9, "normal": 5, "low": 1}
