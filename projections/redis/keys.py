"""Key layout of the Redis progress tables, shared by the writer and the read side.

Everything lives under one prefix (default `tracktion:`, tests use `t:<uid>:`):

    {p}batches                         zset  cid -> first event time (unix s), for listing
    {p}batch:{cid}                     hash  files, queued, in_progress, succeeded, failed,
                                             removed, first_at, last_at, done_at (unix us)
    {p}files:{cid}                     hash  file_id -> "<code> <at_us> <event_id>"
    {p}expected:{cid}                  str   total announced by the publisher (not replayable)
    {p}checkpoint:{projection}         hash  "<topic>:<partition>" -> last applied offset
    {p}lag:{group}:{topic}:{partition} hash  lag, end_offset, position, updated_at
    {p}progress:{cid}                  pub/sub channel, one message per write touching cid

Each kind of key has its own leading word and the correlation id comes last, so an id that
contains ':' cannot make two batches' keys collide.
"""

from __future__ import annotations

from schemas.namespace import LIVE

DEFAULT_PREFIX = LIVE.redis_prefix


def batches(prefix: str) -> str:
    return f"{prefix}batches"


def batch(prefix: str, cid: str) -> str:
    return f"{prefix}batch:{cid}"


def batch_files(prefix: str, cid: str) -> str:
    return f"{prefix}files:{cid}"


def expected(prefix: str, cid: str) -> str:
    return f"{prefix}expected:{cid}"


def checkpoint(prefix: str, projection: str) -> str:
    return f"{prefix}checkpoint:{projection}"


def lag(prefix: str, group: str, topic: str, partition: int) -> str:
    return f"{prefix}lag:{group}:{topic}:{partition}"


def channel(prefix: str, cid: str) -> str:
    return f"{prefix}progress:{cid}"


def glob_escape(text: str) -> str:
    """Escape SCAN/PSUBSCRIBE glob metacharacters so a prefix matches only itself."""
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def text(value: bytes | str) -> str:
    """Clients may or may not decode responses; the read side accepts both."""
    return value.decode() if isinstance(value, bytes) else value
