"""Analyzer version: bump whenever a change alters any computed feature value.

This is the default of the `ANALYZER_VERSION` setting (infra/settings.py), which is what the
analysis role stamps on results and keys the result cache with; docs/operations.md
("Upgrading the analyser") has the procedure.
"""

from __future__ import annotations

ANALYZER_VERSION: int = 2
