"""`tracktion db ...`: manage the PostgreSQL read model's schema with Alembic."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from infra.settings import get_settings
from projections.postgres.migrate import upgrade
from projections.postgres.schema import DEFAULT_SCHEMA, SCHEMA_ENV

app = typer.Typer(help="Manage the PostgreSQL read model schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd(
    schema: Annotated[str, typer.Option("--schema", envvar=SCHEMA_ENV,
                                        help="Schema to create or upgrade.")] = DEFAULT_SCHEMA,
    revision: Annotated[str, typer.Option(help="Target Alembic revision.")] = "head",
) -> None:
    """Create or upgrade the read-model tables in SCHEMA (idempotent)."""
    try:
        upgrade(get_settings().database_url, schema, revision)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    Console().print(f"schema [bold]{schema}[/bold] is at revision {revision}")
