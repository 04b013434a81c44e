"""`tracktion db ...`: manage the PostgreSQL read model's schema with Alembic."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from infra.settings import get_settings
from projections.postgres.migrate import upgrade
from streams.cli.root import DeprecatedSchemaOpt, namespace_of

app = typer.Typer(help="Manage the PostgreSQL read model schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd(
    ctx: typer.Context,
    schema: DeprecatedSchemaOpt = None,
    revision: Annotated[str, typer.Option(help="Target Alembic revision.")] = "head",
) -> None:
    """Create or upgrade the read-model tables in the namespace's schema (idempotent)."""
    schema = schema or namespace_of(ctx).pg_schema
    try:
        upgrade(get_settings().database_url, schema, revision)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    Console().print(f"schema [bold]{schema}[/bold] is at revision {revision}")
