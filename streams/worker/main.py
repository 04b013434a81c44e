"""Run one or more roles in one process, with signals wired for graceful shutdown."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Protocol

from infra.logging import configure_logging, get_logger
from infra.settings import Settings
from infra.telemetry import init_tracing, shutdown_tracing
from streams.worker import probes
from streams.worker.health import Readiness
from streams.worker.web import RouteAdder, build_app, serve

log = get_logger("worker")


class Role(Protocol):
    name: str
    #: dependencies whose probes decide readiness of this role
    dependencies: tuple[str, ...]

    async def start(self) -> None: ...

    async def run(self) -> None: ...

    async def stop(self) -> None: ...

    def routes(self) -> list[RouteAdder]: ...


PROBES: dict[str, Callable[[Settings], Awaitable[object]]] = {
    "kafka": probes.kafka_probe, "postgres": probes.postgres_probe,
    "neo4j": probes.neo4j_probe, "redis": probes.redis_probe,
    "rabbitmq": probes.rabbitmq_probe,
}


def readiness_for(settings: Settings, roles: list[Role]) -> Readiness:
    readiness = Readiness()
    for dep in sorted({d for r in roles for d in r.dependencies}):
        readiness.add(dep, partial(PROBES[dep], settings))  # type: ignore[arg-type]
    pooled = [r for r in roles if hasattr(r, "pool_stats")]
    if pooled and "postgres" in readiness.probes:
        async def postgres_with_pool() -> dict[str, object]:
            await probes.postgres_probe(settings)
            return {"pool": pooled[0].pool_stats()}

        readiness.add("postgres", postgres_with_pool)
    return readiness


async def run_roles(settings: Settings, roles: list[Role], role_label: str,
                    port: int | None = None) -> int:
    """Start roles and the web server; on SIGTERM/SIGINT stop intake, drain, flush, exit 0.

    Returns the process exit code: 1 if a role crashed (so a supervisor restarts us).
    """
    configure_logging(f"tracktion-{role_label}", settings.log_level, settings.log_format)
    init_tracing(f"tracktion-{role_label}", settings.otel_exporter_otlp_endpoint,
                 settings.otel_traces_sampler)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    app = build_app(readiness_for(settings, roles), role_label,
                    [r for role in roles for r in role.routes()])
    web_port = port if port is not None else settings.web_port
    try:
        web_runner = await serve(app, settings.web_host, web_port)
    except OSError as exc:  # before any role took anything: nothing else to release
        log.error("web_start_failed", port=web_port, error=str(exc))
        shutdown_tracing()
        return 1
    started: list[Role] = []
    try:
        for role in roles:
            # Listed before start(): one that fails half-way has still taken resources
            # (a process pool, connections) that its stop() must give back, or the
            # interpreter would wait on them forever instead of exiting.
            started.append(role)
            await role.start()
    except Exception as exc:
        # str() of an OSError names the path; repr() does not.
        log.error("role_start_failed", role=started[-1].name,
                  error=f"{type(exc).__name__}: {exc}")
        await _stop_roles(started, settings.shutdown_timeout)
        await web_runner.cleanup()
        shutdown_tracing()
        log.info("worker_stopped", exit_code=1)
        return 1
    tasks = [asyncio.create_task(role.run(), name=role.name) for role in roles]
    log.info("worker_started", roles=[r.name for r in roles], port=port or settings.web_port)
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    exit_code = 0
    for task in done:
        if task is not stopper and task.exception() is not None:
            exit_code = 1
            log.error("role_crashed", role=task.get_name(), error=repr(task.exception()))
    log.info("worker_stopping", grace_s=settings.shutdown_timeout)
    if not await _stop_roles(roles, settings.shutdown_timeout):
        exit_code = 1  # in-flight work was abandoned (it will be redelivered): say so
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await web_runner.cleanup()
    shutdown_tracing()
    log.info("worker_stopped", exit_code=exit_code)
    return exit_code


async def _stop_roles(roles: list[Role], timeout_s: float) -> bool:
    """Stop every role, each within `timeout_s`; False if any did not stop cleanly."""
    clean = True
    for role in roles:
        try:
            await asyncio.wait_for(role.stop(), timeout=timeout_s)
        except TimeoutError:
            clean = False
            log.warning("role_stop_timeout", role=role.name)
        except Exception as exc:  # one role's failure must not keep the others running
            clean = False
            log.error("role_stop_failed", role=role.name, error=repr(exc))
    return clean
