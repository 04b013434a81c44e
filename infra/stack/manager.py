"""Brings the whole local stack up, down, and reports its status; idempotent and crash-tolerant."""

from __future__ import annotations

import importlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from infra import credentials
from infra.settings import credentials_path
from infra.stack.base import Progress, Service, StackError, StackPaths, pid_alive, read_pid, tail
from infra.stack.kafka import KafkaNode, cluster_size, node_name, parse_node_name

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


def load_services(paths: StackPaths, names: list[str] | None = None,
                  kafka_brokers: int | None = None) -> list[Service]:
    """The services named (default: all), "kafka-<n>" being node n of the local cluster.

    With `kafka_brokers` (else KAFKA_BROKERS) above 1, "kafka" stands for every node of that
    cluster instead of the single broker.
    """
    wanted = expand_names(paths, names, kafka_brokers)
    unknown = [n for n in wanted if n not in SERVICE_MODULES and parse_node_name(n) is None]
    if unknown:
        raise StackError(f"unknown service(s) {unknown}; known: {', '.join(SERVICE_MODULES)}, "
                         f"kafka-1..kafka-N (nodes of the --kafka-brokers N cluster)")
    services: list[Service] = []
    for name in wanted:
        node = parse_node_name(name)
        if node is not None:
            services.append(KafkaNode(paths, node, cluster_size(paths, kafka_brokers)))
            continue
        module_name, cls_name = SERVICE_MODULES[name].split(":")
        cls = getattr(importlib.import_module(module_name), cls_name)
        services.append(cls(paths))
    return services


def expand_names(paths: StackPaths, names: list[str] | None,
                 kafka_brokers: int | None = None) -> list[str]:
    from infra.settings import get_settings

    brokers = kafka_brokers if kafka_brokers is not None else get_settings().kafka_brokers
    if brokers < 1:
        raise StackError(f"--kafka-brokers/KAFKA_BROKERS must be 1 or more, not {brokers}")
    wanted = list(names or SERVICE_MODULES)
    if brokers == 1:
        return wanted
    size = cluster_size(paths, brokers)
    if size != brokers:
        raise StackError(f"the Kafka cluster in {paths.state} was formatted with {size} nodes, "
                         f"not {brokers}; use --kafka-brokers {size}")
    nodes = [node_name(n) for n in range(1, size + 1)]
    expanded: list[str] = []
    for name in wanted:
        expanded.extend(nodes if name == "kafka" else [name])
    return list(dict.fromkeys(expanded))  # "kafka kafka-2" must not start node 2 twice


def running_cluster_nodes(paths: StackPaths) -> list[str]:
    """Names of the cluster nodes in `paths` whose recorded process is alive."""
    found = []
    for pid_file in sorted(paths.state.glob("kafka-*/kafka-*.pid")):
        node = parse_node_name(pid_file.stem)
        pid = read_pid(pid_file)
        if node is not None and pid_file.parent.name == pid_file.stem and pid is not None \
                and pid_alive(pid):
            found.append(pid_file.stem)
    return found


def _with_running_nodes(paths: StackPaths, names: list[str] | None,
                        kafka_brokers: int | None) -> list[str] | None:
    """`status` and `down` of everything also cover the cluster's nodes (all of them, so a
    stopped one shows as down) while any of them runs, so a started cluster is never
    invisible, or left running, when KAFKA_BROKERS is unset."""
    if names is not None:
        return names
    expanded = expand_names(paths, None, kafka_brokers)
    if not running_cluster_nodes(paths):
        return None
    nodes = [node_name(n) for n in range(1, cluster_size(paths) + 1)]
    extra = [n for n in nodes if n not in expanded]
    return expanded + extra if extra else None


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


def up(paths: StackPaths, names: list[str] | None, progress: Progress,
       kafka_brokers: int | None = None) -> dict[str, float]:
    """Install what is missing, start what is down, wait until every service answers.

    Returns seconds spent per phase, so callers can report cold vs warm start times.
    """
    services = load_services(paths, names, kafka_brokers)
    # Kafka needs no credentials: starting cluster nodes alone leaves the file alone (the
    # tests start clusters in state dirs of their own).
    if not all(isinstance(s, KafkaNode) for s in services) and credentials.ensure():
        progress(f"credentials generated into {credentials_path()} (mode 0600)")
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


def down(paths: StackPaths, names: list[str] | None, progress: Progress,
         kafka_brokers: int | None = None) -> None:
    services = load_services(paths, _with_running_nodes(paths, names, kafka_brokers),
                             kafka_brokers)
    nodes = [svc for svc in services if isinstance(svc, KafkaNode)]
    for svc in reversed(services):
        if isinstance(svc, KafkaNode):
            if svc is nodes[-1]:
                _stop_together(nodes, progress)
            continue
        progress(f"{svc.name}: stopping")
        svc.stop()


def _stop_together(nodes: list[KafkaNode], progress: Progress) -> None:
    """Stop cluster nodes in parallel. One after the other, the last node waits for a quorum
    that is already gone to approve its controlled shutdown, until SIGKILL 30 s later; stopped
    together, every broker's shutdown is approved while all controllers still run."""
    progress(f"{', '.join(n.name for n in nodes)}: stopping")
    with ThreadPoolExecutor(len(nodes)) as pool:
        for done in [pool.submit(n.stop) for n in nodes]:
            done.result()


def status(paths: StackPaths, names: list[str] | None = None,
           kafka_brokers: int | None = None) -> list[ServiceStatus]:
    result = []
    for svc in load_services(paths, _with_running_nodes(paths, names, kafka_brokers),
                             kafka_brokers):
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
