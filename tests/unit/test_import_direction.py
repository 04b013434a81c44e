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


def all_imports(path: Path) -> set[str]:
    """Every absolute import of a module, ours or not."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


# Entrypoints only parse and hand over to the layers below; none builds on another's parsing
# or error types (the JSON API once imported the CLI's private queries and typer's errors).
ENTRYPOINTS = {"streams.cli": ROOT / "streams" / "cli",
               "streams.worker.api": ROOT / "streams" / "worker" / "api.py",
               "streams.worker.pages": ROOT / "streams" / "worker" / "pages"}


def _files(where: Path) -> list[Path]:
    return sorted(where.rglob("*.py")) if where.is_dir() else [where]


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_no_entrypoint_imports_another() -> None:
    for name, where in ENTRYPOINTS.items():
        others = [other for other in ENTRYPOINTS if other != name]
        for path in _files(where):
            bad = {m for m in our_imports(path) if any(_within(m, o) for o in others)}
            assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_the_read_layer_imports_no_entrypoint_cli_or_http_code() -> None:
    reads = sorted((ROOT / "projections" / "reads").rglob("*.py"))
    assert reads
    for path in reads:
        bad = {m for m in all_imports(path)
               if m.split(".")[0] in ("typer", "click", "aiohttp", "rich", "streams")}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
