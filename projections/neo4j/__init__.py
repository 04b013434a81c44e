"""Neo4j projection: a harmonic-mixing graph of tracks, keys, tempo buckets and tags."""
