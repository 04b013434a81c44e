"""Alembic migrations of the Postgres read model (a package so that it ships with the code)."""
