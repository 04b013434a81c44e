"""Runs the Alembic migrations of the read model, from the CLI or from a writer's setup()."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from projections.postgres.schema import check_schema_name

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# One lock for every schema: concurrent setups (tests, replicas) also race on CREATE EXTENSION.
MIGRATION_LOCK_KEY = 0x7472_6163_6B00  # "track\0"


def alembic_config(schema: str, url: str | None = None) -> Config:
    cfg = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # configparser escaping
    cfg.attributes["schema"] = check_schema_name(schema)
    return cfg


def upgrade(url: str, schema: str, revision: str = "head") -> None:
    """Upgrade `schema` at `url` (sync; env.py runs its own event loop)."""
    command.upgrade(alembic_config(schema, url), revision)


def upgrade_on(connection: Connection, schema: str, revision: str = "head") -> None:
    """Upgrade through an open connection (inside AsyncConnection.run_sync)."""
    cfg = alembic_config(schema)
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)
