"""What the analysis agent does with one file event: decide, analyse (cached, retried), emit.

Independent of Faust: the agent hands each record here with an `Emit` function, so the
logic is testable against a plain Kafka producer too. Every returned awaitable is the
durable produce of one result; the agent awaits them before the record counts as done,
which is what makes offset commits safe (at-least-once).
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from aiokafka.errors import KafkaError, KafkaTimeoutError
from opentelemetry import trace

from infra.logging import get_logger
from infra.metrics import ANALYSIS_DURATION, ANALYSIS_FAILURES, ANALYSIS_FILES, DEADLETTERS
from infra.telemetry import event_attributes, extract_from_kafka, inject, tracer
from schemas import headers as h
from schemas.analysis_events import (
    AnalysisCompleted,
    AnalysisCompletedPayload,
    AnalysisFailed,
    AnalysisFailedPayload,
    AnalysisStarted,
    AnalysisStartedPayload,
    Features,
)
from schemas.codec import decode, encode
from schemas.envelope import Event, SchemaError
from schemas.file_events import (
    AnalysisRequested,
    FileDiscovered,
    FileInfo,
    FileModified,
    FileMoved,
)
from schemas.namespace import Namespace
from streams.agents.cache import ResultCache
from streams.agents.features import features_from
from streams.pool.pool import AnalysisPool, PoolTaskError

log = get_logger("analysis")
Emit = Callable[[str, bytes | None, bytes, list[tuple[str, bytes]]], Awaitable[Any]]
LANE_RANK = {"high": 0, "normal": 1, "low": 2}
_ID_NS = uuid.UUID("0c5e3a4b-6f7d-4a51-9d0b-3f1e2c4d5a6b")
WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` for transient analysis failures (pool); `io_attempts` for transient I/O
    (Kafka produce, connections): 0.5 s doubling to `io_max_delay_s`, ~4 min in all."""

    attempts: int = 3
    base_delay_s: float = 0.5
    io_attempts: int = 12
    io_max_delay_s: float = 30.0


def transient_io(exc: BaseException) -> bool:
    """May the same step succeed later? Connection and timeout errors may; a bug never does."""
    if isinstance(exc, KafkaError):
        return exc.retriable or isinstance(exc, KafkaTimeoutError)
    return isinstance(exc, OSError | TimeoutError)


def last_line(exc: BaseException) -> str:
    """The traceback's last line (`Type: message`), what an operator reads first."""
    return traceback.format_exception_only(exc)[-1].strip()[:400]


def derived_id(cause: str, kind: str) -> str:
    """Ids derived from the cause, so a redelivered event yields the very same result ids."""
    return uuid.uuid5(_ID_NS, f"{cause}:{kind}").hex


def _needs_analysis(event: Event) -> FileInfo | None:
    """The file to analyse for this event, or None (a deletion needs nothing).

    A move is analysed under its new id too: usually a cache hit (same bytes), answered
    with a cached AnalysisCompleted and no decoding. It matters when the file moved before
    its discovery was analysed (a tagger renaming an import at once, a worker hours
    behind): that analysis fails with not_found at the old path, and the moved track, which
    only inherited from the old id, stayed failed for ever."""
    if isinstance(event, FileDiscovered | FileModified | AnalysisRequested | FileMoved):
        return event.payload.file
    return None


class AnalysisHandler:
    def __init__(self, pool: AnalysisPool, cache: ResultCache, emit: Emit, ns: Namespace,
                 analyzer_version: int, retry: RetryPolicy | None = None,
                 worker_name: str = WORKER_NAME) -> None:
        self._pool, self._cache, self._emit = pool, cache, emit
        self._worker = worker_name
        self._ns = ns
        self._version = analyzer_version
        self._retry = retry or RetryPolicy()
        self._locks: dict[str, asyncio.Lock] = {}

    async def handle(self, value: bytes, headers: list[tuple[str, bytes]] | None) -> None:
        """Process one record; returns only once its outcome is durably in Kafka.

        Faust acks a record when the agent moves on, even after an exception, so nothing
        should escape from here: transient I/O is retried with backoff up to
        `RetryPolicy.io_attempts`; any other error (a bug, a result the schema rejects) is
        final at once: `AnalysisFailed(reason="internal")` and a dead letter, and the
        partition moves on. Only if even those cannot be produced does this raise.
        """
        try:
            event = decode(value)
        except SchemaError as exc:
            error = await self._retry_io(self._deadletter, value, headers, exc.reason, str(exc))
            if error is not None:
                raise error from exc
            return
        info = _needs_analysis(event)
        if info is None:
            return
        # Actors take records in order; FIFO locks per file keep one file's events in that
        # order even though several actors run at once (results are last-writer-wins).
        lock = self._locks.setdefault(event.file_id, asyncio.Lock())
        try:
            async with lock:
                error = await self._retry_io(self._traced, event, info, headers)
                if error is not None:
                    await self._internal_failure(event, info, error)
        finally:
            if not lock.locked() and not lock._waiters:
                self._locks.pop(event.file_id, None)

    async def _traced(self, event: Event, info: FileInfo,
                      headers: list[tuple[str, bytes]] | None) -> None:
        attrs = event_attributes(event.correlation_id, event.file_id, event.event_id)
        with tracer("tracktion.analysis").start_as_current_span(
                "analyse", context=extract_from_kafka(headers), kind=trace.SpanKind.CONSUMER,
                attributes={**attrs, "path": info.path}):
            force = isinstance(event, AnalysisRequested) and event.payload.force
            await self._analyse(event, info, force)

    async def _retry_io(self, step: Callable[..., Awaitable[None]],
                        *args: Any) -> Exception | None:
        """Run `step`, retrying transient I/O with backoff; returns the final error, if any."""
        delay = self._retry.base_delay_s
        for attempt in range(1, self._retry.io_attempts + 1):
            try:
                await step(*args)
                return None
            except (asyncio.CancelledError, PoolTaskError):
                raise
            except Exception as exc:
                if not transient_io(exc) or attempt == self._retry.io_attempts:
                    return exc
                log.warning("analysis_step_failed_retrying", error=repr(exc), attempt=attempt,
                            retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry.io_max_delay_s)
        raise AssertionError("unreachable: io_attempts must be at least 1")

    async def _internal_failure(self, event: Event, info: FileInfo, exc: Exception) -> None:
        """A step failed for good: record why (with the traceback), then move on."""
        log.error("analysis_internal_error", file_id=event.file_id,
                  correlation_id=event.correlation_id, exc_info=exc)
        error = await self._retry_io(self._failed, event, info, "internal", last_line(exc), 1,
                                     transient_io(exc))
        if error is not None:
            raise error

    async def _analyse(self, event: Event, info: FileInfo, force: bool) -> None:
        started = time.perf_counter()
        cached = None if force else await self._cache.get(self._version, info.content_hash)
        if cached is not None:
            await self._completed(event, info, cached, started)
            return
        await self._send(AnalysisStarted.create(
            file_id=event.file_id, correlation_id=event.correlation_id,
            causation_id=event.event_id, priority=event.priority,
            event_id=derived_id(event.event_id, "started"),
            payload=AnalysisStartedPayload(path=info.path, content_hash=info.content_hash,
                                           worker=self._worker)), wait=False)
        attempt = 0
        while True:
            attempt += 1
            try:
                with tracer("tracktion.analysis").start_as_current_span("process_pool"):
                    analysed = await self._pool.analyse(info.path, LANE_RANK[event.priority])
            except PoolTaskError as exc:
                if exc.transient and attempt < self._retry.attempts:
                    await asyncio.sleep(self._retry.base_delay_s * 2 ** (attempt - 1))
                    continue
                await self._failed(event, info, exc.reason, exc.message, attempt, exc.transient)
                return
            features = features_from(analysed.measured, self._version)
            actual = analysed.content_hash or info.content_hash
            if actual != info.content_hash:
                log.info("analysis_content_changed", file_id=event.file_id,
                         published_hash=info.content_hash, analysed_hash=actual)
                info = msgspec.structs.replace(info, content_hash=actual)
            await self._cache.put(self._version, actual, features)
            await self._completed(event, info, features, started, analysed.timings)
            return

    async def _completed(self, event: Event, info: FileInfo, features: Features,
                         started: float, timings: Mapping[str, float] | None = None) -> None:
        """`timings` come with a fresh analysis; None means a cache hit."""
        cached = timings is None
        elapsed = time.perf_counter() - started
        payload = AnalysisCompletedPayload(
            analysis_id=derived_id(event.event_id, f"analysis-v{self._version}"),
            path=info.path, content_hash=info.content_hash,
            features=features, processing_ms=round(elapsed * 1e3, 1),
            cached=cached, worker=self._worker)
        await self._send(AnalysisCompleted.create(
            file_id=event.file_id, correlation_id=event.correlation_id,
            causation_id=event.event_id, priority=event.priority,
            event_id=derived_id(event.event_id, "completed"), payload=payload))
        ANALYSIS_FILES.labels("cached" if cached else "succeeded").inc()
        if timings is not None:  # a fresh analysis
            # "total" and per-feature come from inside the analyser (the work itself);
            # "end_to_end" adds the wait for a free pool worker and the result produce.
            ANALYSIS_DURATION.labels("end_to_end").observe(elapsed)
            for feature, seconds in timings.items():
                ANALYSIS_DURATION.labels(feature).observe(seconds)
        log.info("analysis_completed", file_id=event.file_id, correlation_id=event.correlation_id,
                 cached=cached, ms=payload.processing_ms, bpm=features.bpm,
                 key=features.camelot, analyzer_version=self._version)

    async def _failed(self, event: Event, info: FileInfo, reason: str, message: str,
                      attempts: int, transient: bool) -> None:
        failed = AnalysisFailed.create(
            file_id=event.file_id, correlation_id=event.correlation_id,
            causation_id=event.event_id, priority=event.priority,
            event_id=derived_id(event.event_id, "failed"),
            payload=AnalysisFailedPayload(path=info.path, content_hash=info.content_hash,
                                          reason=reason,  # type: ignore[arg-type]
                                          message=message, attempts=attempts,
                                          transient=transient))
        await self._send(failed)
        ANALYSIS_FILES.labels("failed").inc()
        ANALYSIS_FAILURES.labels(reason).inc()
        log.warning("analysis_failed", file_id=event.file_id, correlation_id=event.correlation_id,
                    reason=reason, error=message, attempts=attempts)
        await self._deadletter(encode(event), [(h.EVENT_ID, event.event_id.encode())],
                               reason, message)

    async def _send(self, event: Event, wait: bool = True) -> None:
        headers = {h.EVENT_ID: event.event_id, h.EVENT_TYPE: event.event_type,
                   h.CORRELATION_ID: event.correlation_id, h.FILE_ID: event.file_id, **inject()}
        fut = await self._emit(self._ns.analysis_topic, event.file_id.encode(),
                               encode(event), h.kafka_headers(headers))
        if wait:
            await fut

    async def _deadletter(self, value: bytes, headers: list[tuple[str, bytes]] | None,
                          reason: str, message: str) -> None:
        extra = [(h.DEADLETTER_REASON, f"{reason}: {message}"[:500].encode()),
                 (h.DEADLETTER_SOURCE, b"analysis")]
        DEADLETTERS.labels("analysis", reason).inc()
        log.warning("analysis_deadletter", reason=reason, error=message[:200])
        await (await self._emit(self._ns.deadletter_topic, None, value,
                                [*(headers or []), *extra]))
