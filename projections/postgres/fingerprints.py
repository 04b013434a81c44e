"""Duplicate recordings from Chromaprint fingerprints (pure: numpy and the standard library).

A raw fingerprint is one 32-bit sub-fingerprint per ~0.124 s. Two files of the same
recording differ in a few bits per item (encoder loss) and perhaps a small shift (encoder
delay, padding); different recordings differ in about half the bits.

- `signature`: 64 bits for a cheap first pass, bit j of half h = the majority of bit j over
  the items of that half of the fingerprint, with a mask of the bits whose majority is
  clear. Encoder loss does not turn a clear majority over hundreds of items, so copies
  agree on the clear bits both have; other recordings disagree on many of them.
- `similarity`: 1 - the bit error rate of the overlap, at the best shift within
  +-MAX_SHIFT items (1 s): the confirmation, on candidate pairs only.
- `groups`: connected components of the confirmed pairs, each with the copy to keep first.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MAX_SHIFT = 8  # items (~1 s) of encoder delay / leading silence tolerated
MIN_OVERLAP = 32  # items (~4 s): shorter overlaps say nothing
DEFAULT_THRESHOLD = 0.93  # same recording at or above (chosen on a calibration corpus: docs)
MARGIN = 0.08  # a signature bit counts when its majority share is this far from 0.5
MAX_MISMATCH = 2  # clear signature bits that may disagree between two copies
LOSSLESS = frozenset({"flac", "wav", "aiff", "aif", "alac", "ape", "wv", "pcm_s16le",
                      "pcm_s24le", "pcm_s16be", "pcm_s24be"})
Items = npt.NDArray[np.uint32]


def items_of(raw: bytes) -> Items:
    """The uint32 sub-fingerprints stored as little-endian bytes."""
    return np.frombuffer(raw[:len(raw) // 4 * 4], dtype="<u4").astype(np.uint32)


def raw_of_text(text: str | None) -> bytes | None:
    """The event's base64 fingerprint as bytes; None if absent or not valid base64 (a bad
    value must not stop the projection: the track just has no fingerprint)."""
    if not text:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def signature_of_text(text: str | None) -> tuple[int, int] | None:
    raw = raw_of_text(text)
    return None if raw is None or len(raw) < 4 else signature(items_of(raw))


def _bits(items: Items) -> npt.NDArray[np.uint8]:
    return np.unpackbits(items.astype("<u4").view(np.uint8).reshape(-1, 4), axis=1,
                         bitorder="little")


def _signed(bits: int) -> int:
    return bits - (1 << 64) if bits >= 1 << 63 else bits


def signature(items: Items) -> tuple[int, int]:
    """(value, mask), two signed 64-bit ints (Postgres bigints): bit j of half h of `value`
    is the majority of bit j over that half of the items; `mask` marks the bits whose
    majority is clear (share at least 0.5 + MARGIN or at most 0.5 - MARGIN). Encoder loss
    of a share e of the bits pulls a share m towards 0.5 by (1 - 2e), so clear majorities
    stay on their side in every copy; unclear ones carry no evidence and are ignored."""
    if len(items) == 0:
        return 0, 0
    half = max(1, len(items) // 2)
    parts = (items[:half], items[half:]) if len(items) > 1 else (items, items)
    value = mask = 0
    for h, part in enumerate(parts):
        share = _bits(part).mean(axis=0)
        for j in range(32):
            if share[j] > 0.5:
                value |= 1 << (h * 32 + j)
            if abs(share[j] - 0.5) >= MARGIN:
                mask |= 1 << (h * 32 + j)
    return _signed(value), _signed(mask)


def signature_mismatch(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """(bits clear in both that disagree, bits clear in both)."""
    both = a[1] & b[1] & 0xFFFFFFFFFFFFFFFF
    return ((a[0] ^ b[0]) & both).bit_count(), both.bit_count()


def similarity(a: Items, b: Items, max_shift: int = MAX_SHIFT) -> float:
    """1 - bit error rate at the best alignment (0.0 if they never overlap enough)."""
    best = 0.0
    for shift in range(-max_shift, max_shift + 1):
        x, y = (a[shift:], b) if shift >= 0 else (a, b[-shift:])
        n = min(len(x), len(y))
        if n < MIN_OVERLAP:
            continue
        errors = int(np.bitwise_count(np.bitwise_xor(x[:n], y[:n])).sum())
        best = max(best, 1.0 - errors / (32.0 * n))
    return best


@dataclass(frozen=True)
class Copy:
    """One file of a track, with what decides which copy to keep."""

    file_id: str
    path: str
    codec: str | None
    format: str | None
    bit_rate: int | None
    duration_s: float | None

    @property
    def lossless(self) -> bool:
        return (self.codec or "").lower() in LOSSLESS or (self.format or "").lower() in LOSSLESS


def keep_order(copy: Copy) -> tuple[bool, int, float, str]:
    """Sort key, best first: lossless, then higher bit rate, then longer, then path."""
    return (not copy.lossless, -(copy.bit_rate or 0), -(copy.duration_s or 0.0), copy.path)


def candidate_pairs(durations: Sequence[float], signatures: Sequence[tuple[int, int]],
                    duration_tolerance_s: float = 2.0,
                    max_mismatch: int = MAX_MISMATCH) -> list[tuple[int, int]]:
    """Index pairs with durations within the tolerance whose clear signature bits agree
    (at most `max_mismatch` disagree).

    Sorted by duration, each track is compared with the following ones while they are
    within the tolerance: one vectorised step per offset, so 100,000 tracks cost a few
    hundred numpy passes rather than 5e9 comparisons.
    """
    n = len(durations)
    if n < 2:
        return []
    d = np.asarray(durations, dtype=np.float64)
    v = np.asarray([s[0] for s in signatures], dtype=np.int64).view(np.uint64)
    m = np.asarray([s[1] for s in signatures], dtype=np.int64).view(np.uint64)
    order = np.argsort(d, kind="stable")
    d, v, m = d[order], v[order], m[order]
    # followers[i]: how many tracks after i (by duration) are within the tolerance. Offset k
    # touches only the tracks with more than k - 1 followers: the first ones of `busiest`.
    followers = np.searchsorted(d, d + duration_tolerance_s, side="right") - np.arange(n) - 1
    busiest = np.argsort(-followers, kind="stable")
    ascending = np.sort(followers)
    found: list[npt.NDArray[np.int64]] = []
    for offset in range(1, int(ascending[-1]) + 1):
        active = busiest[:n - int(np.searchsorted(ascending, offset, side="left"))]
        j = active + offset
        disagree = (v[active] ^ v[j]) & m[active] & m[j]
        hit = active[np.bitwise_count(disagree) <= max_mismatch]
        if len(hit):
            found.append(np.stack([order[hit], order[hit + offset]], axis=1))
    if not found:
        return []
    return [(int(a), int(b)) for a, b in np.concatenate(found)]


def groups(n: int, pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Connected components (of two or more) of the pairs, by union-find."""
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    components: dict[int, list[int]] = {}
    for i in range(n):
        components.setdefault(root(i), []).append(i)
    return [c for c in components.values() if len(c) > 1]
