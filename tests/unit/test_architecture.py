"""The layers hold: import contracts (import-linter, configured in pyproject.toml) and no import cycles.

``make lint`` runs the same contracts in CI; these tests show that they would
catch a violation, and check what import-linter cannot express: that no two
modules import each other, directly or round a loop.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp

from support import REPO

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(package_parent: Path) -> subprocess.CompletedProcess[str]:
    """Run the contracts of pyproject.toml against the ``fridge_monitor`` found in ``package_parent``."""
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--config", str(REPO / "pyproject.toml")],
                          cwd=package_parent, env=env, capture_output=True, text=True, timeout=300)


def test_the_code_keeps_every_import_contract() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "kept, 0 broken" in result.stdout


def with_violation(tmp_path: Path, module: str, line: str) -> Path:
    """A copy of the package in ``tmp_path`` whose ``module`` (a path under fridge_monitor/) ends with ``line``."""
    shutil.copytree(REPO / "fridge_monitor", tmp_path / "fridge_monitor",
                    ignore=shutil.ignore_patterns("__pycache__", "static", "templates"))
    target = tmp_path / "fridge_monitor" / module
    target.write_text(target.read_text() + f"\n{line}  # a deliberate violation\n")
    return tmp_path


def test_importing_flask_in_the_core_breaks_a_contract(tmp_path: Path) -> None:
    result = lint_imports(with_violation(tmp_path, "core/mkt.py", "import flask"))
    assert result.returncode != 0
    assert "fridge_monitor.core.mkt -> flask" in result.stdout


def test_importing_upward_breaks_the_layers(tmp_path: Path) -> None:
    result = lint_imports(with_violation(tmp_path, "store/db.py", "import fridge_monitor.web"))
    assert result.returncode != 0
    assert "fridge_monitor.store is not allowed to import fridge_monitor.web" in result.stdout


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Groups of modules that reach each other through imports (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return cycles


def test_no_two_modules_import_each_other() -> None:
    graph = grimp.build_graph("fridge_monitor")
    assert len(graph.modules) > 50  # the whole package was read, not an empty graph
    assert import_cycles(graph) == []


def test_a_cycle_would_be_found() -> None:
    graph = grimp.ImportGraph()
    for module in ("p.a", "p.b", "p.c", "p.d"):
        graph.add_module(module)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.c")
    graph.add_import(importer="p.c", imported="p.a")
    graph.add_import(importer="p.c", imported="p.d")
    assert import_cycles(graph) == [["p.a", "p.b", "p.c"]]
