"""I/O part of the tags projection: tag the files, then advance the checkpoint (Redis).

A file cannot join a Redis transaction, so atomicity comes from order and idempotence:
every file of the batch is written (each atomically: tagged copy, fsync, rename) before the
batch's checkpoint is stored. A crash in between replays the batch, and a file whose tags
already match is not touched again, so the replay only finishes what was left.

Per chunk of files: read our records of them (streams/tags/ours.py), check and prepare the
tagged copies (in a thread: hashing and mutagen block), record each copy's hash as our own
write, and only then rename the copies over the files. The watcher, seeing the rename,
finds the new hash in the record and publishes nothing.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis

from infra.logging import get_logger
from projections.base import Checkpoints, ProjectionSpec
from projections.redis import keys
from projections.redis.writer import connect, read_checkpoints
from projections.tags.apply import TagIntents, TagsProjector, TagTarget
from projections.tags.metrics import TAGS_SKIPPED, TAGS_UP_TO_DATE, TAGS_WRITTEN
from streams.tags import files, ours
from streams.tags.values import KeyNotation, TagValues, tag_values

log = get_logger("projections.tags")
# Files prepared before their renames: bounds the tagged copies on disk at one time (a
# 100 MB WAV-sized FLAC each, at worst) and the work a timed-out batch leaves behind.
CHUNK_FILES = 16


@dataclass(frozen=True)
class Outcome:
    target: TagTarget
    kind: str  # written | up_to_date | skipped
    reason: str = ""
    detail: str = ""
    prepared: files.PreparedWrite | None = None
    audio_hash: str = ""


def _skip(target: TagTarget, reason: str, detail: str = "") -> Outcome:
    return Outcome(target, "skipped", reason, detail[:300])


def values_of(target: TagTarget, notation: KeyNotation) -> TagValues:
    f = target.features
    return tag_values(f.bpm, f.key, f.scale, f.camelot, f.open_key, f.replay_gain_db,
                      f.peak_dbfs, f.loudness_lufs, notation)


def prepare(target: TagTarget, record: ours.FileRecord, notation: KeyNotation) -> Outcome:
    """Blocking: decide about one file and, if its tags differ, prepare the tagged copy."""
    if record.superseded_by_applied(target.version):
        return _skip(target, "superseded")
    path = Path(target.path)

    def accept(current: str) -> bool:
        return record.same_audio(current, target.content_hash)

    try:
        prepared = files.prepare_write(path, values_of(target, notation), accept)
    except files.ContentMismatch as exc:
        return _skip(target, "hash_mismatch", f"analysed {target.content_hash}, now {exc.actual}")
    except FileNotFoundError as exc:
        return _skip(target, "missing", str(exc))
    except OSError as exc:  # permissions, a full disk: a retry would not help
        return _skip(target, "unwritable", str(exc))
    except Exception as exc:  # UnsupportedFormat, or mutagen's own errors on a damaged file
        return _skip(target, "unsupported", f"{type(exc).__name__}: {exc}")
    if prepared is None:
        return Outcome(target, "up_to_date")
    return Outcome(target, "written", prepared=prepared,
                   audio_hash=record.identity(prepared.source_hash))


def prepare_chunk(targets: Sequence[TagTarget], records: dict[str, ours.FileRecord],
                  notation: KeyNotation) -> list[Outcome]:
    by_dir: dict[Path, set[str]] = defaultdict(set)
    for t in targets:
        real = Path(t.path).resolve()  # a linked file is tagged where it really is
        by_dir[real.parent].add(real.name)
    for directory, names in by_dir.items():
        files.remove_leftovers(directory, names)  # copies left by a killed writer
    return [prepare(t, records.get(t.file_id, ours.EMPTY), notation) for t in targets]


def commit_chunk(outcomes: Sequence[Outcome]) -> list[Outcome]:
    """Rename every prepared copy; one whose file changed meanwhile becomes a skip."""
    out = []
    for o in outcomes:
        prepared = o.prepared
        if prepared is not None:
            try:
                prepared.commit()
            except files.ContentMismatch as exc:
                o = _skip(o.target, "hash_mismatch", str(exc))
            except OSError as exc:
                prepared.discard()
                o = _skip(o.target, "missing" if isinstance(exc, FileNotFoundError)
                          else "unwritable", str(exc))
        out.append(o)
    return out


class TagsWriter:
    """Writer[TagIntents]: files first, then the checkpoint hash `{p}checkpoint:tags`."""

    def __init__(self, redis: Redis, prefix: str = keys.DEFAULT_PREFIX,
                 notation: KeyNotation = "standard") -> None:
        self._redis = redis
        self.prefix = prefix
        self.notation = notation

    async def setup(self) -> None:
        await self._redis.ping()  # nothing to create; fail early if Redis is not there

    async def load_checkpoints(self, projection: str) -> Checkpoints:
        return await read_checkpoints(self._redis, self.prefix, projection)

    async def write(self, projection: str, intents: TagIntents,
                    checkpoints: Checkpoints) -> None:
        targets = intents.targets
        for start in range(0, len(targets), CHUNK_FILES):
            await self._write_chunk(targets[start:start + CHUNK_FILES])
        if checkpoints:
            await self._redis.hset(keys.checkpoint(self.prefix, projection), mapping={
                f"{topic}:{partition}": offset
                for (topic, partition), offset in sorted(checkpoints.items())})

    async def _write_chunk(self, targets: Sequence[TagTarget]) -> None:
        records = await ours.load(self._redis, self.prefix, [t.file_id for t in targets])
        outcomes = await asyncio.to_thread(prepare_chunk, targets, records, self.notation)
        try:
            await self._record(outcomes)
        except BaseException:
            for o in outcomes:
                if o.prepared is not None:
                    o.prepared.discard()
            raise
        outcomes = await asyncio.to_thread(commit_chunk, outcomes)
        self._report(outcomes)
        await self._alias_cache([o for o in outcomes if o.kind == "written"])

    async def _record(self, outcomes: Sequence[Outcome]) -> None:
        """Our post-write hashes and the applied versions, before any rename."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for o in outcomes:
                if o.kind == "skipped":
                    continue
                name = ours.key(self.prefix, o.target.file_id)
                if o.prepared is not None:
                    pipe.hset(name, o.prepared.written_hash, o.audio_hash)
                pipe.hset(name, ours.APPLIED, ours.encode_version(o.target.version))
            await pipe.execute()

    def _report(self, outcomes: Sequence[Outcome]) -> None:
        for o in outcomes:
            if o.kind == "written":
                TAGS_WRITTEN.inc()
                log.info("tags_written", file_id=o.target.file_id, path=o.target.path,
                         tags=sorted(o.prepared.changes) if o.prepared else [])
            elif o.kind == "up_to_date":
                TAGS_UP_TO_DATE.inc()
            else:
                TAGS_SKIPPED.labels(reason=o.reason).inc()
                level = log.debug if o.reason == "superseded" else log.warning
                level("tags_skipped", reason=o.reason, file_id=o.target.file_id,
                      path=o.target.path, detail=o.detail)

    async def _alias_cache(self, written: Sequence[Outcome]) -> None:
        """Point the analysis cache entry at the new hash too: a re-publish of the tagged
        file is then a cache hit, not a second analysis. Best effort (only costs a hit)."""
        if not written:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for o in written:
                    assert o.prepared is not None
                    base = f"{self.prefix}cache:v{o.target.features.analyzer_version}:"
                    pipe.copy(base + o.target.content_hash, base + o.prepared.written_hash)
                await pipe.execute()
        except Exception as exc:
            log.info("tags_cache_alias_failed", error=repr(exc))

    async def reset(self, projection: str) -> None:
        """Forget the checkpoints only: the records of our writes describe the files on
        disk, which a replay does not rewrite, so they must survive it."""
        await self._redis.delete(keys.checkpoint(self.prefix, projection))

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()


def tags_spec(redis_url: str, prefix: str = keys.DEFAULT_PREFIX,
              notation: KeyNotation = "standard") -> ProjectionSpec[TagIntents]:
    """Wire the tags projection: pure projector + file/Redis writer, breaker "redis"."""
    return ProjectionSpec(TagsProjector(), TagsWriter(connect(redis_url), prefix, notation),
                          "redis")
