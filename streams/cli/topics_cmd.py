"""`tracktion topics`: create and describe the Kafka topic catalogue."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from infra.kafka_admin import describe_topics, ensure_catalogue
from infra.settings import get_settings
from streams.cli.root import DeprecatedPrefixOpt, namespace_of

app = typer.Typer(help="Create and inspect the Kafka topics (the event store).",
                  no_args_is_help=True)


@app.command("create")
def create(ctx: typer.Context, prefix: DeprecatedPrefixOpt = None,
           partitions: Annotated[int | None, typer.Option(
               help="Partitions for new topics (default KAFKA_PARTITIONS).")] = None) -> None:
    """Create every catalogue topic that does not exist yet (idempotent)."""
    settings = get_settings()
    created = asyncio.run(ensure_catalogue(settings, namespace_of(ctx, prefix), partitions))
    Console(stderr=True).print(f"created {len(created)} topic(s): {', '.join(created) or '-'}")


@app.command("describe")
def describe(ctx: typer.Context, prefix: DeprecatedPrefixOpt = None,
             json_out: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
             partitions: Annotated[bool, typer.Option(
                 "--partitions", help="Also one row per partition: leader, replicas, ISR.")
             ] = False,
             ) -> None:
    """Show each catalogue topic: exists, partitions, replicas, min ISR, retention, purpose."""
    states = asyncio.run(describe_topics(get_settings().kafka_bootstrap_servers,
                                         namespace_of(ctx, prefix)))
    if json_out:
        typer.echo(json.dumps([{**asdict(s), "under_replicated": s.under_replicated}
                               for s in states], indent=2))
        return
    table = Table("topic", "exists", "partitions", "RF", "min ISR", "under-replicated",
                  "retention.ms", "purpose")
    for s in states:
        table.add_row(s.name, "yes" if s.exists else "no", str(s.partitions),
                      str(s.replication_factor or "-"), s.min_insync_replicas or "-",
                      str(s.under_replicated) if s.exists else "-", s.retention_ms, s.purpose)
    Console().print(table)
    if partitions:
        detail = Table("topic", "partition", "leader", "replicas", "ISR")
        for s in states:
            for p in s.partition_states:
                # -1 is Kafka's "no leader": every replica of the partition is down.
                detail.add_row(s.name, str(p.partition), str(p.leader) if p.leader >= 0
                               else "none", ",".join(map(str, p.replicas)),
                               ",".join(map(str, p.isr)))
        Console().print(detail)
