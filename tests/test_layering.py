"""The package layering (``[tool.importlinter]`` in pyproject.toml) and the absence of
mutual imports between modules."""

from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "objspec"


def test_import_linter_contracts_are_kept() -> None:
    """`lint-imports` (import-linter) passes: a layering violation fails the suite too."""
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter is not installed")
    done = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _module_level_imports(tree: ast.Module, name: str, is_package: bool,
                          modules: set[str]) -> set[str]:
    """Modules of the package that ``name`` imports when it is imported: statements at
    module level (also inside if/try/with and class bodies), not in functions and not under
    ``if TYPE_CHECKING:``."""
    out: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                out.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                for alias in node.names:
                    sub = f"{source}.{alias.name}"
                    out.add(sub if sub in modules else source)
            elif isinstance(node, ast.If):
                if not _is_type_checking(node.test):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)
            elif isinstance(node, ast.With | ast.ClassDef):
                visit(node.body)

    visit(tree.body)
    return {m for m in out if m in modules and m != name}


def _import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(files)
    return {
        name: _module_level_imports(ast.parse(path.read_text(encoding="utf-8")), name,
                                    path.name == "__init__.py", modules)
        for name, path in files.items()
    }


def test_the_graph_sees_module_level_imports() -> None:
    graph = _import_graph()
    assert "objspec.mdp.model" in graph["objspec.mdp.linear"]
    assert "objspec.errors" in graph["objspec.orders"]
    assert "objspec.mdp.policy" in graph["objspec.display.policies"]
    assert "objspec.display.svg" in graph["objspec.ltl.rendering"]
    # the Jupyter hooks import objspec.display inside methods, and annotations only under
    # TYPE_CHECKING: neither is an edge
    assert "objspec.display" not in graph["objspec.mdp.model"]
    assert "objspec.mdp.model" not in graph["objspec.display.mdps"]


def test_no_two_modules_import_each_other() -> None:
    graph = _import_graph()
    mutual = sorted((a, b) for a, targets in graph.items() for b in targets
                    if a < b and a in graph.get(b, set()))
    assert mutual == []


def test_the_mutual_import_check_can_fail() -> None:
    tree_a = ast.parse("from objspec import b\n")
    tree_b = ast.parse("import objspec.a\n")
    mods = {"objspec.a", "objspec.b"}
    assert _module_level_imports(tree_a, "objspec.a", False, mods) == {"objspec.b"}
    assert _module_level_imports(tree_b, "objspec.b", False, mods) == {"objspec.a"}
    hidden = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                       "    import objspec.a\ndef f():\n    import objspec.a\n")
    assert _module_level_imports(hidden, "objspec.b", False, mods) == set()
