"""The Postgres read model: tracks, analyses and failures for queries from the CLI and HTTP."""
