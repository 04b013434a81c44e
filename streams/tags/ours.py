"""The record of our own tag writes, kept in Redis, read by the tags projection and the watcher.

Writing tags changes a file's bytes and so its content hash, but never its audio. One hash
per file per write is recorded *before* the tagged copy is renamed over the file:

    {p}tags:ours:{file_id}   hash  <post-write content hash> -> <audio hash>
                                   "applied"                 -> "<occurred_at us> <event_id>"

The audio hash is the content hash of the file as analysed before any of our writes
(our writes chain: each new entry maps to the same first hash). So "same audio" is
`identity(a) == identity(b)`, where identity maps a post-write hash to its audio hash and
leaves any other hash alone. "applied" is the version of the latest analysis written into
the file, so that an older one replayed later does not overwrite a newer one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

APPLIED = "applied"
Version = tuple[int, str]  # (occurred_at in us, event_id): last writer wins


def key(prefix: str, file_id: str) -> str:
    return f"{prefix}tags:ours:{file_id}"


@dataclass(frozen=True)
class FileRecord:
    """What we wrote into one file: post-write hash -> audio hash, and the applied version."""

    lineage: Mapping[str, str]
    applied: Version | None = None

    def identity(self, content_hash: str) -> str:
        return self.lineage.get(content_hash, content_hash)

    def same_audio(self, current: str, analysed: str) -> bool:
        """The file now holds the audio that was analysed: the same bytes, or bytes that
        differ from them only by tags we wrote."""
        return self.identity(current) == self.identity(analysed)

    def is_ours(self, content_hash: str) -> bool:
        return content_hash in self.lineage

    def superseded_by_applied(self, version: Version) -> bool:
        """A newer analysis has already been written (an equal one is re-applied: replays
        and a changed key notation must be able to write the same event again)."""
        return self.applied is not None and version < self.applied


EMPTY = FileRecord({})


def parse(fields: Mapping[Any, Any]) -> FileRecord:
    """Pure: the Redis hash (decoded or not) to a FileRecord."""
    text = {_text(k): _text(v) for k, v in fields.items()}
    applied_raw = text.pop(APPLIED, None)
    applied: Version | None = None
    if applied_raw:
        micros, _, event_id = applied_raw.partition(" ")
        applied = (int(micros), event_id)
    return FileRecord(text, applied)


def encode_version(version: Version) -> str:
    return f"{version[0]} {version[1]}"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def load(redis: Any, prefix: str, file_ids: Sequence[str]) -> dict[str, FileRecord]:
    """The records of several files in one round trip."""
    if not file_ids:
        return {}
    async with redis.pipeline(transaction=False) as pipe:
        for file_id in file_ids:
            pipe.hgetall(key(prefix, file_id))
        raw = await pipe.execute()
    return {file_id: parse(fields) for file_id, fields in zip(file_ids, raw, strict=True)}


async def is_ours(redis: Any, prefix: str, file_id: str, content_hash: str) -> bool:
    """Did our tag writer produce a file with these exact bytes? (the watcher's question)"""
    return bool(await redis.hexists(key(prefix, file_id), content_hash))
