"""The test modules themselves: a module-level name assigned twice silently replaces the first
fixture (two article fixtures of one name made an earlier test read the later text)."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

TESTS = Path(__file__).parent


def _module_names(tree: ast.Module) -> list[str]:
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
    return names


def redefined(source: str) -> list[str]:
    """The module-level names a module binds more than once (constants, functions, classes)."""
    counts = Counter(_module_names(ast.parse(source)))
    return sorted(name for name, n in counts.items() if n > 1 and name != "__all__")


def test_the_check_finds_a_redefined_constant_function_or_class():
    assert redefined("A = 1\ndef f(): pass\nA = 2\n") == ["A"]
    assert redefined("def test_x(): pass\nclass K: pass\ndef test_x(): pass\n") == ["test_x"]
    assert redefined("A = 1\nB: int = 2\n") == []


def test_no_test_module_binds_a_module_level_name_twice():
    found = {
        str(path.relative_to(TESTS)): names
        for path in sorted(TESTS.rglob("*.py"))
        if (names := redefined(path.read_text(encoding="utf-8")))
    }
    assert found == {}, found
