"""Redis progress projection: per-batch counters, per-file status and consumer lag tables.

`apply` is pure (events to intents), `writer` applies them with one Lua script per call,
`progress` is the read side used by `tracktion progress` and `tracktion publish --wait`.
"""
