"""Statements in docs/architecture.md that the code can check, checked (they went stale once)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text()


def calls(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return names


def test_per_file_locks_in_the_handler_as_documented() -> None:
    assert "FIFO lock per file" in ARCHITECTURE
    handler = (ROOT / "streams" / "agents" / "handler.py").read_text()
    assert "self._locks" in handler and "asyncio.Lock()" in handler


def test_reanalyse_initialises_tracing_as_documented() -> None:
    assert "`tracktion reanalyse` initialises tracing" in ARCHITECTURE
    assert "init_tracing" in calls(ROOT / "streams" / "cli" / "ops_cmd.py")


def test_the_import_direction_check_named_in_the_docs_exists() -> None:
    assert "tests/unit/test_import_direction.py" in ARCHITECTURE
    assert (ROOT / "tests" / "unit" / "test_import_direction.py").exists()


def test_every_module_path_the_docs_name_exists() -> None:
    import re

    named = set(re.findall(r"`((?:streams|projections|infra|schemas|benchmarks)/[\w/]+\.py)",
                           ARCHITECTURE))
    assert named, "the architecture doc names no module"
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"
