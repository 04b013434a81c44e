"""`tracktion stack`: run the real local servers Kafka, Postgres, Redis, RabbitMQ, Neo4j, Jaeger."""

from __future__ import annotations

import asyncio
import json
import subprocess
from typing import Annotated

import typer
from rich.console import Console

from infra.stack import manager
from infra.stack.base import StackError, StackPaths
from infra.stack.kafka import broker_port, client_env, cluster_size, parse_node_name

app = typer.Typer(help="Install, start, stop and inspect the local stack (127.0.0.1 only).",
                  no_args_is_help=True)
console = Console(stderr=True)

ServicesArg = Annotated[
    list[str] | None,
    typer.Argument(
        help=f"Services to act on (default: all of {', '.join(manager.SERVICE_MODULES)})."),
]


BrokersOpt = Annotated[int | None, typer.Option(
    "--kafka-brokers", min=1,
    help="Kafka nodes: 1 = the single broker on 9092; 3 = a local KRaft cluster on "
         "19092-19094 (then SERVICE `kafka` means all its nodes). Default KAFKA_BROKERS.")]


def _progress(message: str) -> None:
    console.print(f"[cyan]stack[/cyan] {message}")


@app.command("up")
def up(services: ServicesArg = None,
       json_out: Annotated[bool, typer.Option("--json", help="Phase timings as JSON.")] = False,
       kafka_brokers: BrokersOpt = None,
       ) -> None:
    """Install what is missing, start what is down, and wait until every service answers."""
    paths = manager.default_paths()
    try:
        timings = manager.up(paths, services, _progress, kafka_brokers)
        nodes = _cluster_nodes(paths, services, kafka_brokers)
    except StackError as exc:
        console.print(f"[red]stack up failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    if json_out:
        typer.echo(json.dumps(timings))
    else:
        console.print(f"[green]stack up[/green] in {timings['total']}s "
                      f"(install {timings['install']}s, start {timings['start']}s)")
    if nodes:
        # The settings cannot find the cluster by themselves (the single broker stays the
        # default), so say what its clients set.
        console.print(f"kafka cluster: clients use  {client_env(cluster_size(paths))}",
                      soft_wrap=True)  # one line, to copy whole


def _cluster_nodes(paths: StackPaths, services: list[str] | None,
                   kafka_brokers: int | None) -> list[str]:
    return [n for n in manager.expand_names(paths, services, kafka_brokers)
            if parse_node_name(n) is not None]


@app.command("down")
def down(services: ServicesArg = None, kafka_brokers: BrokersOpt = None) -> None:
    """Stop every process the stack started (by PID). Data and downloads are kept."""
    manager.down(manager.default_paths(), services, _progress, kafka_brokers)


@app.command("status")
def status(services: ServicesArg = None, kafka_brokers: BrokersOpt = None) -> None:
    """One line per service: up/down, port, version; the log tail of services that are down.

    With cluster nodes: each node's part in the metadata quorum, and who leads it.
    """
    paths = manager.default_paths()
    rows = manager.status(paths, services, kafka_brokers)
    nodes = [r for r in rows if parse_node_name(r.name) is not None]
    roles, summary = _quorum(paths, [r.name for r in nodes if r.up]) if nodes else ({}, "")
    for row in rows:
        state = "[green]up  [/green]" if row.up else "[red]down[/red]"
        role = roles.get(row.name, "")
        console.print(f"{row.name:<9} {state} 127.0.0.1:{row.port:<6} {row.version}"
                      + (f"  {role}" if role else ""))
        if not row.up and row.detail:
            for line in row.detail.splitlines():
                console.print(f"    {line}", style="dim", markup=False, highlight=False)
    if summary:
        console.print(summary, markup=False, highlight=False, soft_wrap=True)
    if not all(r.up for r in rows):
        raise typer.Exit(1)


def _quorum(paths: StackPaths, up_nodes: list[str]) -> tuple[dict[str, str], str]:
    """Each node's part in the metadata quorum and a summary line, asked of the nodes up."""
    from infra.kafka_admin import describe_quorum

    size = cluster_size(paths)
    if not up_nodes:
        return {}, "kafka cluster: no node answers, so no quorum"
    bootstrap = ",".join(f"127.0.0.1:{broker_port(parse_node_name(n) or 0)}" for n in up_nodes)
    try:
        quorum = asyncio.run(describe_quorum(bootstrap))
    except Exception as exc:
        return {}, f"kafka cluster: quorum not described ({exc})"
    roles = {}
    for node in range(1, size + 1):
        part = ("quorum leader" if node == quorum.leader_id else
                "voter" if node in quorum.voters else
                "observer" if node in quorum.observers else "")
        roles[f"kafka-{node}"] = part
    leader = f"kafka-{quorum.leader_id}" if quorum.leader_id >= 0 else "none (election)"
    return roles, (f"kafka cluster: quorum leader {leader} (epoch {quorum.leader_epoch}), "
                   f"voters {sorted(quorum.voters)}, brokers registered "
                   f"{list(quorum.brokers)}, max voter lag {quorum.max_voter_lag}\n"
                   f"kafka cluster: clients use  {client_env(size)}")


@app.command("logs")
def logs(service: Annotated[str, typer.Argument(help="Service name.")],
         lines: Annotated[int, typer.Option("-n", help="Lines to show.")] = 50,
         follow: Annotated[bool, typer.Option("-f", "--follow", help="Keep printing.")] = False,
         ) -> None:
    """Show a service's log file."""
    (svc,) = manager.load_services(manager.default_paths(), [service])  # also kafka-<n>
    cmd = ["tail", f"-n{lines}"] + (["-F"] if follow else []) + [str(svc.log_file)]
    subprocess.run(cmd, check=False)
