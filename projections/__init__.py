"""Read models built from the event log: PostgreSQL, Neo4j and Redis projections."""
