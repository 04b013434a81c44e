"""Analyzer version: bump whenever a change alters any computed feature value."""

from __future__ import annotations

ANALYZER_VERSION: int = 1
