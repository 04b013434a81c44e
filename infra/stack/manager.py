"""Brings the whole local stack up, down, and reports its status; idempotent and crash-tolerant."""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from pathlib import Path

from infra import credentials
from infra.settings import credentials_path
from infra.stack.base import Progress, Service, StackError, StackPaths, tail

# Start order matters only for waiting: everything is spawned first, then each is awaited.
SERVICE_MODULES: dict[str, str] = {
    "postgres": "infra.stack.postgres:Postgres",
    "redis": "infra.stack.redis:Redis",
    "rabbitmq": "infra.stack.rabbitmq:RabbitMQ",
    "kafka": "infra.stack.kafka:Kafka",
    "neo4j": "infra.stack.neo4j:Neo4j",
    "jaeger": "infra.stack.jaeger:Jaeger",
}


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def default_paths(state: Path | None = None) -> StackPaths:
    """The repo's `.stack/`, or STACK_DIR when set (e.g. to keep state on a bigger disk)."""
    root = repo_root()
    from infra.settings import get_settings

    return StackPaths(repo=root, state=(state or get_settings().stack_dir).resolve())


def load_services(paths: StackPaths, names: list[str] | None = None) -> list[Service]:
    wanted = names or list(SERVICE_MODULES)
    unknown = [n for n in wanted if n not in SERVICE_MODULES]
    if unknown:
        raise StackError(f"unknown service(s) {unknown}; known: {', '.join(SERVICE_MODULES)}")
    services: list[Service] = []
    for name in wanted:
        module_name, cls_name = SERVICE_MODULES[name].split(":")
        cls = getattr(importlib.import_module(module_name), cls_name)
        services.append(cls(paths))
    return services


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    up: bool
    port: int
    version: str
    detail: str


def _answers(service: Service) -> bool:
    try:
        service.ping()
    except Exception:
        return False
    return True


def wait_until_up(service: Service, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            service.ping()
            return
        except Exception as exc:
            last_error = exc
        if not service.running():
            break
        time.sleep(0.5)
    state = "exited" if not service.running() else f"did not answer within {timeout:.0f}s"
    raise StackError(
        f"{service.name} {state} (last error: {last_error}).\n"
        f"Log: {service.log_file}\n{tail(service.log_file, 15)}"
    )


def up(paths: StackPaths, names: list[str] | None, progress: Progress) -> dict[str, float]:
    """Install what is missing, start what is down, wait until every service answers.

    Returns seconds spent per phase, so callers can report cold vs warm start times.
    """
    if credentials.ensure():
        progress(f"credentials generated into {credentials_path()} (mode 0600)")
    services = load_services(paths, names)
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    for svc in services:
        if not svc.installed():
            progress(f"{svc.name}: installing")
            started = time.monotonic()
            svc.install(progress)
            timings[f"install_{svc.name}"] = round(time.monotonic() - started, 1)
    timings["install"] = round(time.monotonic() - t0, 1)

    t1 = time.monotonic()
    to_wait: list[Service] = []
    for svc in services:
        if _answers(svc):
            progress(f"{svc.name}: already up on 127.0.0.1:{svc.port}")
            continue
        if svc.running():
            # Alive but not answering: either still starting or wedged. Give it the wait; a
            # wedged process is restarted below if the wait fails.
            progress(f"{svc.name}: process alive, waiting for it to answer")
        else:
            progress(f"{svc.name}: starting")
            svc.stop()  # clears stale PID files and any half-dead helper processes
            svc.start()
        to_wait.append(svc)
    for svc in to_wait:
        try:
            wait_until_up(svc, svc.start_timeout)
        except StackError:
            if not svc.running():
                raise
            progress(f"{svc.name}: not answering, restarting")
            svc.stop()
            svc.start()
            wait_until_up(svc, svc.start_timeout)
        progress(f"{svc.name}: up on 127.0.0.1:{svc.port}")
    for svc in services:
        _apply_credentials(svc, progress)
    timings["start"] = round(time.monotonic() - t1, 1)
    timings["total"] = round(time.monotonic() - t0, 1)
    return timings


def _apply_credentials(svc: Service, progress: Progress) -> None:
    if not svc.after_up(progress):
        return
    progress(f"{svc.name}: restarting to apply the generated credentials")
    svc.stop()
    svc.start()
    wait_until_up(svc, svc.start_timeout)
    if svc.after_up(progress):
        raise StackError(f"{svc.name} still refuses the credentials in {credentials_path()} "
                         f"after a restart. Log: {svc.log_file}\n{tail(svc.log_file, 15)}")


def down(paths: StackPaths, names: list[str] | None, progress: Progress) -> None:
    for svc in reversed(load_services(paths, names)):
        progress(f"{svc.name}: stopping")
        svc.stop()


def status(paths: StackPaths, names: list[str] | None = None) -> list[ServiceStatus]:
    result = []
    for svc in load_services(paths, names):
        ok = _answers(svc)
        version = ""
        if ok:
            try:
                version = svc.version()
            except Exception as exc:
                version = f"? ({exc})"
        detail = "" if ok else tail(svc.log_file, 5)
        result.append(ServiceStatus(svc.name, ok, svc.port, version, detail))
    return result
