"""Watching library folders and publishing file events as the library changes."""
