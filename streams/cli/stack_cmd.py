"""`tracktion stack`: run the real local servers Kafka, Postgres, Redis, RabbitMQ, Neo4j, Jaeger."""

from __future__ import annotations

import json
import subprocess
from typing import Annotated

import typer
from rich.console import Console

from infra.stack import manager
from infra.stack.base import StackError

app = typer.Typer(help="Install, start, stop and inspect the local stack (127.0.0.1 only).",
                  no_args_is_help=True)
console = Console(stderr=True)

ServicesArg = Annotated[
    list[str] | None,
    typer.Argument(
        help=f"Services to act on (default: all of {', '.join(manager.SERVICE_MODULES)})."),
]


def _progress(message: str) -> None:
    console.print(f"[cyan]stack[/cyan] {message}")


@app.command("up")
def up(services: ServicesArg = None,
       json_out: Annotated[bool, typer.Option("--json", help="Phase timings as JSON.")] = False,
       ) -> None:
    """Install what is missing, start what is down, and wait until every service answers."""
    try:
        timings = manager.up(manager.default_paths(), services, _progress)
    except StackError as exc:
        console.print(f"[red]stack up failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    if json_out:
        typer.echo(json.dumps(timings))
    else:
        console.print(f"[green]stack up[/green] in {timings['total']}s "
                      f"(install {timings['install']}s, start {timings['start']}s)")


@app.command("down")
def down(services: ServicesArg = None) -> None:
    """Stop every process the stack started (by PID). Data and downloads are kept."""
    manager.down(manager.default_paths(), services, _progress)


@app.command("status")
def status(services: ServicesArg = None) -> None:
    """One line per service: up/down, port, version; the log tail of services that are down."""
    rows = manager.status(manager.default_paths(), services)
    for row in rows:
        state = "[green]up  [/green]" if row.up else "[red]down[/red]"
        console.print(f"{row.name:<9} {state} 127.0.0.1:{row.port:<6} {row.version}")
        if not row.up and row.detail:
            for line in row.detail.splitlines():
                console.print(f"    {line}", style="dim", markup=False, highlight=False)
    if not all(r.up for r in rows):
        raise typer.Exit(1)


@app.command("logs")
def logs(service: Annotated[str, typer.Argument(help="Service name.")],
         lines: Annotated[int, typer.Option("-n", help="Lines to show.")] = 50,
         follow: Annotated[bool, typer.Option("-f", "--follow", help="Keep printing.")] = False,
         ) -> None:
    """Show a service's log file."""
    (svc,) = manager.load_services(manager.default_paths(), [service])
    cmd = ["tail", f"-n{lines}"] + (["-F"] if follow else []) + [str(svc.log_file)]
    subprocess.run(cmd, check=False)
