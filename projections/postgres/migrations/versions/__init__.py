"""Alembic revisions of the Postgres read model."""
