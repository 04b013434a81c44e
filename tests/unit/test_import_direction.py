"""Layering: schemas import nothing of ours; pure modules import only schemas (and their own
package); so the pure parts stay testable without I/O and the contract stays the bottom."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OURS = ("schemas", "streams", "projections", "infra")


def our_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m.split(".")[0] in OURS}


def test_schemas_import_nothing_of_ours() -> None:
    for path in (ROOT / "schemas").rglob("*.py"):
        assert {m for m in our_imports(path) if not m.startswith("schemas")} == set(), path


def test_pure_modules_import_only_schemas_and_their_own_package() -> None:
    pure = [*(ROOT / "streams" / "analysis").glob("*.py"),
            *(ROOT / "projections").glob("*/apply.py"),
            ROOT / "projections" / "base.py", ROOT / "projections" / "batching.py",
            ROOT / "streams" / "bridge" / "routing.py",
            ROOT / "streams" / "watcher" / "debounce.py",
            ROOT / "streams" / "publishing" / "priority.py"]
    for path in pure:
        own = ".".join(path.relative_to(ROOT).parts[:-1])
        bad = {m for m in our_imports(path)
               if not (m.startswith("schemas") or m.startswith(own) or
                       m.startswith("projections.base"))}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
