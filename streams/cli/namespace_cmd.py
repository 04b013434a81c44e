"""`tracktion namespace drop PREFIX`: remove a side namespace (a replay target, a trial run)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from infra.settings import get_settings
from schemas.namespace import LIVE_PREFIX, Namespace
from streams.ops.namespace import STORES, drop_namespace

app = typer.Typer(no_args_is_help=True)
LIVE = LIVE_PREFIX  # the default prefix every command uses: the library's real state


@app.callback()
def namespace() -> None:
    """Namespaces: one prefix names a set of topics, schemas, graph nodes and keys."""


@app.command("drop")
def drop(
    prefix: Annotated[str, typer.Argument(help="the namespace prefix, e.g. a replay target")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
    live: Annotated[bool, typer.Option("--i-mean-the-live-one",
                                       help=f"allow dropping '{LIVE}' itself")] = False,
) -> None:
    """Delete the prefix's Kafka topics, Postgres schema, Neo4j nodes, Redis keys and AMQP
    queue. Each store is tried even if another fails; the exit code is 1 if any failed."""
    ns = Namespace(prefix)
    if ns.is_live and not live:
        raise typer.BadParameter(f"'{LIVE}' is the live namespace (its topics are the event "
                                 "store); pass --i-mean-the-live-one to drop it anyway")
    if not yes:
        typer.confirm(f"Drop namespace '{prefix}' from {', '.join(STORES)}?", abort=True)
    failed = asyncio.run(drop_namespace(get_settings(), ns))
    for store in STORES:
        error = failed.get(store)
        typer.echo(f"{store:9} {'FAILED: ' + repr(error) if error else 'dropped'}")
    if failed:
        raise typer.Exit(1)
