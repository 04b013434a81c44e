"""`publish_paths`: scan files and publish one event per file, each starting its own trace."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from opentelemetry import trace

from infra.settings import Settings
from infra.telemetry import event_attributes, inject, tracer
from schemas.envelope import Event, file_id_for, new_id
from schemas.file_events import (
    AnalysisRequested,
    AnalysisRequestedPayload,
    FileDiscovered,
    FileDiscoveredPayload,
    FileInfo,
)
from schemas.namespace import LIVE, Namespace
from streams.publishing.fileinfo import NotPublishable, iter_audio_files, printable, read_file_info
from streams.publishing.priority import PriorityChoice, priority_for
from streams.publishing.sinks import EventTooLarge, KafkaSink, RabbitSink, Sink, event_headers

Via = Literal["rabbitmq", "kafka"]


@dataclass
class PublishResult:
    correlation_id: str
    files: int = 0
    published: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0


def build_event(info: FileInfo, correlation_id: str, requested: PriorityChoice,
                force: bool) -> Event:
    """A discovery normally; an explicit re-analysis request when `force` bypasses the cache."""
    file_id = file_id_for(info.library_root, info.relative_path)
    priority = priority_for(info.size, requested)
    if force:
        return AnalysisRequested.create(  # type: ignore[no-any-return]
            file_id=file_id, correlation_id=correlation_id, priority=priority,
            payload=AnalysisRequestedPayload(file=info, reason="reanalyse", force=True))
    return FileDiscovered.create(  # type: ignore[no-any-return]
        file_id=file_id, correlation_id=correlation_id, priority=priority,
        payload=FileDiscoveredPayload(file=info))


async def open_sink(settings: Settings, via: Via, ns: Namespace) -> Sink:
    sink: KafkaSink | RabbitSink
    if via == "kafka":
        sink = KafkaSink(settings.kafka_bootstrap_servers, ns, settings.max_event_bytes)
    else:
        sink = RabbitSink(settings.rabbitmq_url, ns, settings.max_event_bytes)
    await sink.start()
    return sink


async def send_traced(sink: Sink, event: Event) -> None:
    """Publish inside a root span so the event's trace starts here and rides in its headers."""
    attrs = event_attributes(event.correlation_id, event.file_id, event.event_id)
    with tracer("tracktion.publish").start_as_current_span(
            f"publish {event.event_type}", kind=trace.SpanKind.PRODUCER,
            context=trace.set_span_in_context(trace.INVALID_SPAN), attributes=attrs):
        await sink.send(event, event_headers(event, inject()))


async def publish_paths(paths: list[Path], settings: Settings, *,
                        priority: PriorityChoice = "auto", via: Via = "rabbitmq",
                        correlation_id: str | None = None, force: bool = False,
                        ns: Namespace = LIVE,
                        on_total: Callable[[int], None] | None = None,
                        on_file: Callable[[Path], None] | None = None) -> PublishResult:
    """Publish one event per audio file under `paths`; unreadable files are reported, not fatal."""
    started = time.monotonic()
    result = PublishResult(correlation_id=correlation_id or new_id())
    def skipped(directory: Path, reason: str) -> None:
        result.errors.append((printable(directory), f"{reason}: its files are skipped"))

    files = list(iter_audio_files(paths, skipped))
    result.files = len(files)
    if on_total:
        on_total(len(files))
    sink = await open_sink(settings, via, ns)
    try:
        # Hashing is I/O bound: a few threads overlap reads without touching the event loop.
        with ThreadPoolExecutor(max_workers=4) as pool:
            loop = asyncio.get_running_loop()
            infos = [loop.run_in_executor(pool, read_file_info, root, path)
                     for root, path in files]
            try:
                for (_, path), info in zip(files, infos, strict=True):
                    await _publish_one(sink, path, info, result, priority, force)
                    if on_file:
                        on_file(path)
            finally:
                _discard(infos)
        await sink.flush()
    finally:
        await sink.close()
    result.seconds = round(time.monotonic() - started, 3)
    return result


async def _publish_one(sink: Sink, path: Path, info_future: asyncio.Future[FileInfo],
                       result: PublishResult, priority: PriorityChoice, force: bool) -> None:
    """Publish one file's event, or record why it cannot be (the rest go on regardless)."""
    try:
        info = await info_future
    except NotPublishable as exc:
        result.errors.append((printable(path), str(exc)))
        return
    except OSError as exc:
        result.errors.append((printable(path), f"{type(exc).__name__}: {exc}"))
        return
    try:
        await send_traced(sink, build_event(info, result.correlation_id, priority, force))
    except EventTooLarge as exc:
        result.errors.append((printable(path), str(exc)))
    else:
        result.published += 1


def _discard(infos: list[asyncio.Future[FileInfo]]) -> None:
    """After a send failed midway: cancel the hashing not started (else the pool's exit
    hashes the whole rest of the library before the error surfaces) and retrieve what
    finished with an error (else asyncio logs "exception was never retrieved" for each)."""
    for fut in infos:
        if not fut.done():
            fut.cancel()
        elif not fut.cancelled():
            fut.exception()
