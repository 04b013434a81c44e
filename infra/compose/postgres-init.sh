#!/bin/sh
# First start of the compose Postgres: the same roles as `tracktion stack up` makes
# (infra/stack/postgres.py). The image's POSTGRES_USER is the superuser; the application
# logs in as `tracktion`, which may create (and so owns) only its own schemas.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE tracktion_owner NOLOGIN;
CREATE ROLE tracktion LOGIN PASSWORD '${POSTGRES_APP_PASSWORD}'
  NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
CREATE DATABASE tracktion OWNER tracktion_owner;
REVOKE ALL ON DATABASE tracktion FROM PUBLIC;
GRANT CONNECT, CREATE, TEMPORARY ON DATABASE tracktion TO tracktion;
\c tracktion
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
SQL
