"""`tracktion topics`: create and describe the Kafka topic catalogue."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from infra.kafka_admin import describe_topics, ensure_catalogue
from infra.settings import get_settings

app = typer.Typer(help="Create and inspect the Kafka topics (the event store).",
                  no_args_is_help=True)
PrefixOpt = Annotated[str, typer.Option(help="Topic name prefix.")]


@app.command("create")
def create(prefix: PrefixOpt = "tracktion",
           partitions: Annotated[int | None, typer.Option(
               help="Partitions for new topics (default KAFKA_PARTITIONS).")] = None) -> None:
    """Create every catalogue topic that does not exist yet (idempotent)."""
    settings = get_settings()
    created = asyncio.run(ensure_catalogue(settings, prefix, partitions))
    Console(stderr=True).print(f"created {len(created)} topic(s): {', '.join(created) or '-'}")


@app.command("describe")
def describe(prefix: PrefixOpt = "tracktion",
             json_out: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
             ) -> None:
    """Show each catalogue topic: exists, partitions, retention, purpose."""
    states = asyncio.run(describe_topics(get_settings().kafka_bootstrap_servers, prefix))
    if json_out:
        typer.echo(json.dumps([s.__dict__ for s in states], indent=2))
        return
    table = Table("topic", "exists", "partitions", "retention.ms", "purpose")
    for s in states:
        table.add_row(s.name, "yes" if s.exists else "no", str(s.partitions), s.retention_ms,
                      s.purpose)
    Console().print(table)
