"""The `tracktion` command line: entrypoints only parse arguments and hand over."""
